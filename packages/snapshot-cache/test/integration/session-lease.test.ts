import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../../tools/testing/requires.js';
import { type CompatibilityKey, SessionStore } from '../../src/index.js';
import { isAlive, killWhen } from './child-node.js';
import { image, sha256 } from './qcow2-fixtures.js';

const ok = hasTools('qemu-img', 'qemu-io');
const work = mkdtempSync(join(tmpdir(), 'session-lease-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const dist = new URL('../../dist/index.js', import.meta.url).href;
const meta = { origin: 'image' as const, image: { digest: 'b'.repeat(64), choice: 'reference' } };
const key = (format: CompatibilityKey['format'] = 'mapped-ram'): CompatibilityKey => ({
  imageDigest: 'b'.repeat(64),
  qemuVersion: '10.0.2',
  accel: 'tcg',
  layoutFingerprint: 'e'.repeat(64),
  configDisk: {},
  format,
});

/** A session with saved RAM state (3 MiB of 9s). */
async function saved(name: string): Promise<SessionStore> {
  const dir = join(work, name);
  mkdirSync(dir);
  const s = new SessionStore(join(dir, 'session'));
  await s.create({ image: image(join(dir, 'img.qcow2'), 0x11), meta });
  writeFileSync(s.ramTempPath, Buffer.alloc(3 << 20, 9));
  await s.commitRam({ key: key(), plugged: ['/work/app'] });
  return s;
}

/** A child that leases the state (and consumes it when asked), touches `mark`, and waits to be killed. */
const holder = (s: SessionStore, mark: string, consume: boolean) =>
  `import { SessionStore } from ${JSON.stringify(dist)};
   import { writeFileSync } from 'node:fs';
   const lease = await new SessionStore(${JSON.stringify(s.dir)}).leaseRam();
   ${consume ? 'await lease.consume();' : ''}
   writeFileSync(${JSON.stringify(mark)}, lease.path);
   setInterval(() => {}, 1000);`;

describe.skipIf(!ok)('RAM leases across a killed command', () => {
  it('killed while holding the lease (QEMU launching or loading): the state stays, whole, for the next start', async () => {
    const s = await saved('held');
    const before = { ram: (await s.read())?.ram, bytes: sha256(s.ramPath) };
    const r = await killWhen(holder(s, join(work, 'held.mark'), false), join(work, 'held.mark'));
    expect(r.signal).toBe('SIGKILL');
    await s.sweep(isAlive);
    expect((await s.read())?.ram).toEqual(before.ram);
    expect(sha256(s.ramPath)).toBe(before.bytes);
    const lease = await s.leaseRam();
    await lease.release();
  });

  it('killed after consuming (the guest may have run): no state is offered against that disk again', async () => {
    const s = await saved('consumed');
    const r = await killWhen(holder(s, join(work, 'consumed.mark'), true), join(work, 'consumed.mark'));
    expect(r.signal).toBe('SIGKILL');
    await s.sweep(isAlive);
    const after = await s.read();
    expect(after?.ram).toBeUndefined();
    expect(existsSync(s.disk)).toBe(true); // the disk and its data stay: the next start cold-boots it
    await expect(s.leaseRam()).rejects.toThrow(/no saved RAM state/);
    await s.discardRam(); // what the next start does with the leftover file
    expect(existsSync(s.ramPath)).toBe(false);
  });

  it("a template session's RAM file is untouched by a lease that ends in release", async () => {
    const dir = join(work, 'template');
    mkdirSync(dir);
    const s = new SessionStore(join(dir, 'session'));
    await s.create({ image: image(join(dir, 'img.qcow2'), 0x11), meta });
    const template = join(dir, 'template.img');
    writeFileSync(template, Buffer.alloc(8192, 5));
    truncateSync(template, 64 << 20);
    await s.cloneMemory(template);
    execFileSync('dd', ['if=/dev/urandom', `of=${s.memoryPath}`, 'bs=4096', 'seek=100', 'count=4', 'conv=notrunc'], {
      stdio: 'ignore',
    });
    writeFileSync(s.ramTempPath, Buffer.alloc(1 << 20, 3));
    await s.commitRam({ key: key('template-ram'), plugged: [] });
    const memory = readFileSync(s.memoryPath);
    const lease = await s.leaseRam();
    expect(lease.ram.memory?.file).toBe('ram.img');
    await lease.release();
    expect(readFileSync(s.memoryPath).equals(memory)).toBe(true);
    const again = await s.leaseRam();
    await again.consume();
    await again.release();
    expect(existsSync(s.memoryPath)).toBe(true); // live from here: the resumed VM maps it
    expect((await s.read())?.ram).toBeUndefined();
  });
});
