import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../../tools/testing/requires.js';
import { type CompatibilityKey, createOverlay, SnapshotCache, SnapshotCorruptError } from '../../src/index.js';
import { runNode } from './child-node.js';

const ok = hasTools('zstd', 'qemu-img');
const work = mkdtempSync(join(tmpdir(), 'snapcache-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const dist = new URL('../../dist/index.js', import.meta.url).href;

const key = (over: Partial<CompatibilityKey> = {}): CompatibilityKey => ({
  imageDigest: 'a'.repeat(64),
  qemuVersion: '10.0.2',
  accel: 'tcg',
  layoutFingerprint: 'f'.repeat(64),
  configDisk: { STACK_EMULATOR_PORT_PREFIX: '81' },
  format: 'mapped-ram',
  ...over,
});

/** A fake 8 MiB RAM state: sparse like a real mapped-ram file, with data at both ends and the middle. */
function writeState(path: string): void {
  const fd = openSync(path, 'w');
  writeSync(fd, Buffer.alloc(4096, 1), 0, 4096, 0);
  writeSync(fd, Buffer.from('middle'), 0, 6, 4 << 20);
  writeSync(fd, Buffer.alloc(4096, 2), 0, 4096, (8 << 20) - 4096);
  closeSync(fd);
}

/** A cache under `work/<name>` holding one committed snapshot of the fake state. */
async function capturedIn(name: string) {
  const cache = new SnapshotCache(join(work, name));
  const cap = await cache.beginCapture(key());
  writeState(cap.statePath);
  return { cache, entry: await cap.commit() };
}

describe.skipIf(!ok)('SnapshotCache with real zstd', () => {
  it('captures, finds and resumes; a miss says which part of the key differs', async () => {
    const cache = new SnapshotCache(join(work, 'a'));
    expect(await cache.lookup(key())).toMatchObject({ hit: false, reason: 'no snapshot captured yet' });
    const cap = await cache.beginCapture(key());
    writeState(cap.statePath);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', cap.diskPath, '64M']);
    const entry = await cap.commit({ keepDisk: true });
    expect(existsSync(cap.dir)).toBe(false);
    const found = await cache.lookup(key());
    expect(found.hit && found.entry.id).toBe(entry.id);
    expect(readFileSync(await cache.prepareResume(entry)).length).toBe(8 << 20);
    const miss = await cache.lookup(key({ accel: 'kvm', configDisk: { STACK_EMULATOR_PORT_PREFIX: '91' } }));
    expect(miss.hit).toBe(false);
    expect(!miss.hit && miss.reason).toBe(
      'stored snapshot does not match: accel changed (tcg -> kvm), configDisk.STACK_EMULATOR_PORT_PREFIX changed (81 -> 91)',
    );
  });

  it('rebuilds a truncated state file from the compressed copy, verified, before resuming', async () => {
    const { cache, entry } = await capturedIn('b');
    const raw = join(entry.dir, 'state.raw');
    truncateSync(raw, 1 << 20);
    const path = await cache.prepareResume(entry);
    expect(
      readFileSync(path)
        .subarray(4 << 20, (4 << 20) + 6)
        .toString(),
    ).toBe('middle');
  });

  it('refuses a corrupted snapshot before resume', async () => {
    const { cache, entry } = await capturedIn('c');
    const raw = join(entry.dir, 'state.raw');
    const zst = join(entry.dir, 'state.zst');
    // Damage the first MiB of the uncompressed file and the compressed copy: nothing good is left.
    const fd = openSync(raw, 'r+');
    writeSync(fd, Buffer.from([9, 9, 9]), 0, 3, 100);
    closeSync(fd);
    const z = readFileSync(zst);
    z[Math.floor(z.length / 2)]! ^= 0xff;
    writeFileSync(zst, z);
    const err = await cache.prepareResume(entry).catch((e) => e);
    expect(err).toBeInstanceOf(SnapshotCorruptError);
    expect(readdirSync(entry.dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a template capture keeps its RAM file beside the device state, checked by samples before each resume', async () => {
    const cache = new SnapshotCache(join(work, 'template'));
    const cap = await cache.beginCapture(key({ format: 'template-ram' }));
    writeState(cap.statePath);
    // Sparse like guest RAM in a memory-backend-file: 64 MiB apparent, data in a few pages.
    const fd = openSync(cap.ramPath, 'w');
    writeSync(fd, Buffer.alloc(4096, 7), 0, 4096, 0);
    writeSync(fd, Buffer.alloc(4096, 8), 0, 4096, 40 << 20);
    closeSync(fd);
    truncateSync(cap.ramPath, 64 << 20);
    const entry = await cap.commit();
    expect(entry.ramPath).toBe(join(entry.dir, 'ram.img'));
    expect(entry.meta.ram).toMatchObject({ file: 'ram.img', size: 64 << 20 });
    const again = await cache.lookup(key({ format: 'template-ram' }));
    expect(again.hit && again.entry.ramPath).toBe(entry.ramPath);
    await cache.prepareResume(entry); // intact: no error
    // A page in the middle of the file changed: damage a sample (the samples fall on 64 evenly spaced blocks).
    const sampled = Math.floor(((64 << 20) - (64 << 10)) * (32 / 63));
    const bad = openSync(entry.ramPath!, 'r+');
    writeSync(bad, Buffer.from([1]), 0, 1, sampled + 10);
    closeSync(bad);
    const err = await cache.prepareResume(entry).catch((e) => e);
    expect(err).toBeInstanceOf(SnapshotCorruptError);
    expect(err.message).toMatch(/template RAM file differs/);
    rmSync(entry.ramPath!);
    expect((await cache.prepareResume(entry).catch((e) => e)).message).toMatch(/template RAM file is missing/);
    // A snapshot of another format has no RAM file.
    expect((await capturedIn('template-other')).entry.ramPath).toBeUndefined();
  });

  it('quarantines a snapshot that failed to resume and does not offer it again', async () => {
    const { cache, entry } = await capturedIn('d');
    await cache.quarantine(entry, 'migrate-incoming failed: device tree differs');
    const r = await cache.lookup(key());
    expect(r.hit).toBe(false);
    expect(!r.hit && r.quarantined?.reason).toBe('migrate-incoming failed: device tree differs');
    expect(readdirSync(join(cache.root, 'quarantine'))).toHaveLength(1);
  });

  it('counts failed resumes in a row, and a success resets the count', async () => {
    const { cache, entry } = await capturedIn('failures');
    expect(await cache.recordFailure(entry, 'agent timeout')).toBe(1);
    expect(await cache.recordFailure(entry, 'agent timeout')).toBe(2);
    await cache.clearFailures(entry);
    expect(await cache.recordFailure(entry, 'not healthy')).toBe(1);
    expect((await cache.lookup(entry.meta.key)).hit).toBe(true);
  });

  it('leaves no usable half-snapshot when the capturing process is killed midway', async () => {
    const root = join(work, 'e');
    const script = `import { SnapshotCache } from ${JSON.stringify(dist)};
      import { writeFileSync } from 'node:fs';
      const cache = new SnapshotCache(${JSON.stringify(root)});
      const cap = await cache.beginCapture(${JSON.stringify(key())});
      writeFileSync(cap.statePath, Buffer.alloc(3 << 20, 7));
      process.kill(process.pid, 'SIGKILL');`;
    const r = await runNode(script);
    expect(r.signal).toBe('SIGKILL');
    const cache = new SnapshotCache(root);
    expect(readdirSync(root).some((n) => n.startsWith('.tmp-'))).toBe(true);
    expect(await cache.lookup(key())).toMatchObject({ hit: false });
    expect(await cache.sweep()).toHaveLength(1);
    expect(readdirSync(root)).toEqual([]);
  });
});

describe.skipIf(!ok)('overlays', () => {
  it('creates a thin qcow2 overlay on the frozen disk', async () => {
    const base = join(work, 'base.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, '1G']);
    const overlay = join(work, 'overlay.qcow2');
    await createOverlay(base, overlay);
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', overlay], { encoding: 'utf8' }));
    expect(info['backing-filename']).toBe(base);
    expect(info['virtual-size']).toBe(1 << 30);
  });
});
