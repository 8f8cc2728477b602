import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../../tools/testing/requires.js';
import {
  backingNameOf,
  type CompatibilityKey,
  createOverlay,
  ramMismatch,
  type RunTool,
  runTool,
  SessionStore,
  SnapshotCache,
  SnapshotCorruptError,
} from '../../src/index.js';
import { chain, image, reads } from './qcow2-fixtures.js';

const ok = hasTools('qemu-img', 'qemu-io', 'zstd');
const work = mkdtempSync(join(tmpdir(), 'session-store-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const key = (over: Partial<CompatibilityKey> = {}): CompatibilityKey => ({
  imageDigest: 'b'.repeat(64),
  qemuVersion: '10.0.2',
  accel: 'tcg',
  layoutFingerprint: 'e'.repeat(64),
  configDisk: {},
  format: 'mapped-ram',
  ...over,
});
const meta = { origin: 'image' as const, image: { digest: 'b'.repeat(64), choice: 'reference' } };

describe.skipIf(!ok)('SessionStore with real qemu-img', () => {
  it('a session on the image keeps reading that image after the image file is replaced', async () => {
    const dir = join(work, 'a');
    mkdirSync(dir);
    const img = image(join(dir, 'img.qcow2'), 0x11);
    mkdirSync(`${img}.boot`);
    writeFileSync(join(`${img}.boot`, 'vmlinuz'), 'kernel');
    const s = new SessionStore(join(dir, 'session'));
    await s.create({ image: img, bootDir: `${img}.boot`, meta });
    expect(await backingNameOf(s.disk)).toBe('image.qcow2');
    expect(readFileSync(join(s.dir, 'image.qcow2.boot', 'vmlinuz'), 'utf8')).toBe('kernel');
    execFileSync('qemu-io', ['-c', 'write -P 0x22 1M 64k', s.disk], { stdio: 'ignore' });
    // pull: a new image renamed over the old one
    const next = image(join(dir, 'next.qcow2'), 0x33);
    renameSync(next, img);
    expect(reads(s.disk, 0x11)).toBe(true);
    expect(reads(s.disk, 0x22, 1 << 20)).toBe(true);
    expect(chain(s.disk)).toEqual([s.disk, join(s.dir, 'image.qcow2')]);
    await expect(s.create({ image: img, meta })).rejects.toThrow(/already exists/);
  });

  it('a session on a golden disk: linked when its backing name is relative, copied and repointed when absolute', async () => {
    const dir = join(work, 'b');
    mkdirSync(dir);
    const img = image(join(dir, 'img.qcow2'), 0x11);
    // a capture made now: relative backing through a link in the snapshot
    const cache = new SnapshotCache(join(dir, 'snapshots'));
    const cap = await cache.beginCapture(key());
    await cap.createDisk(img);
    execFileSync('qemu-io', ['-c', 'write -P 0x44 2M 64k', cap.diskPath], { stdio: 'ignore' });
    writeFileSync(cap.statePath, Buffer.alloc(1 << 16, 7));
    const entry = await cap.commit({ keepDisk: true });
    expect(await backingNameOf(entry.diskPath!)).toBe('image.qcow2');
    const s = new SessionStore(join(dir, 'session'));
    await s.create({ image: img, golden: entry.diskPath!, meta: { ...meta, origin: 'golden', snapshotId: entry.id } });
    expect(statSync(join(s.dir, 'golden.qcow2')).ino).toBe(statSync(entry.diskPath!).ino);
    await cache.remove(entry);
    rmSync(img);
    expect(reads(s.disk, 0x11)).toBe(true);
    expect(reads(s.disk, 0x44, 2 << 20)).toBe(true);
    expect(chain(s.disk)).toHaveLength(3);

    // a golden disk from before: absolute backing name
    const img2 = image(join(dir, 'img2.qcow2'), 0x55);
    const old = join(dir, 'old-golden.qcow2');
    await createOverlay(img2, old);
    execFileSync('chmod', ['0444', old]);
    const s2 = new SessionStore(join(dir, 'session2'));
    await s2.create({ image: img2, golden: old, meta });
    expect(await backingNameOf(join(s2.dir, 'golden.qcow2'))).toBe('image.qcow2');
    expect(await backingNameOf(old)).toBe(img2); // the snapshot's own disk is untouched
    expect(chain(s2.disk)).toEqual([s2.disk, join(s2.dir, 'golden.qcow2'), join(s2.dir, 'image.qcow2')]);
  });

  it('RAM state is consumed before a resume, checked, and never offered twice', async () => {
    const dir = join(work, 'c');
    mkdirSync(dir);
    const s = new SessionStore(join(dir, 'session'));
    await s.create({ image: image(join(dir, 'img.qcow2'), 0x11), meta });
    writeFileSync(s.ramTempPath, Buffer.alloc(3 << 20, 9));
    const saved = await s.commitRam({ key: key(), plugged: ['/work/app'] });
    expect(saved.ram).toMatchObject({ size: 3 << 20, plugged: ['/work/app'] });
    expect(saved.lastStop?.saved).toBe(true);
    expect(ramMismatch(saved.ram!, key())).toBeUndefined();
    expect(ramMismatch(saved.ram!, key({ qemuVersion: '10.1.0' }))).toBe('qemuVersion changed (10.0.2 -> 10.1.0)');
    expect((await s.sizes()).ram).toBeGreaterThan(0);
    const path = await s.takeRam();
    expect(statSync(path).size).toBe(3 << 20);
    expect((await s.read())?.ram).toBeUndefined(); // a crash from here on cold-boots the disk
    await expect(s.takeRam()).rejects.toThrow(/no saved RAM state/);
    await s.discardRam();
    expect(existsSync(path)).toBe(false);

    writeFileSync(s.ramTempPath, Buffer.alloc(3 << 20, 9));
    await s.commitRam({ key: key(), plugged: [] });
    truncateSync(s.ramPath, 1 << 20);
    await expect(s.takeRam()).rejects.toBeInstanceOf(SnapshotCorruptError);
    expect((await s.read())?.ram).toBeUndefined();
    expect(existsSync(s.ramPath)).toBe(false);
  });

  it("a template's session: its own sparse copy of the template's RAM, kept and checked beside the device state", async () => {
    const dir = join(work, 't');
    mkdirSync(dir);
    const s = new SessionStore(join(dir, 'session'));
    await s.create({ image: image(join(dir, 'img.qcow2'), 0x11), meta });
    // A template RAM file: 256 MiB apparent, 8 KiB of data at each end and one page in the middle.
    const template = join(dir, 'template.img');
    writeFileSync(template, Buffer.alloc(8192, 5));
    truncateSync(template, 256 << 20);
    execFileSync('dd', ['if=/dev/urandom', `of=${template}`, 'bs=4096', 'seek=30000', 'count=1', 'conv=notrunc'], {
      stdio: 'ignore',
    });
    const before = readFileSync(template);
    const mem = await s.cloneMemory(template);
    expect(mem).toBe(s.memoryPath);
    expect(readFileSync(mem).equals(before)).toBe(true);
    expect(statSync(mem).blocks * 512).toBeLessThan(4 << 20); // the holes stayed holes
    expect(statSync(mem).mode & 0o777).toBe(0o600);
    // The VM "runs": it writes its RAM file, then a saving stop writes the device state.
    execFileSync('dd', ['if=/dev/urandom', `of=${mem}`, 'bs=4096', 'seek=100', 'count=4', 'conv=notrunc'], {
      stdio: 'ignore',
    });
    writeFileSync(s.ramTempPath, Buffer.alloc(1 << 20, 3));
    const saved = await s.commitRam({ key: key({ format: 'template-ram' }), plugged: [] });
    expect(saved.ram?.memory).toMatchObject({ file: 'ram.img', size: 256 << 20 });
    expect((await s.sizes()).ram).toBeGreaterThan(1 << 20);
    await s.takeRam();
    expect(existsSync(mem)).toBe(true); // live from here: the resumed VM maps it again
    expect(readFileSync(template).equals(before)).toBe(true);

    // A RAM file that changed after the save (or is gone) is refused with the state.
    writeFileSync(s.ramTempPath, Buffer.alloc(1 << 20, 3));
    await s.commitRam({ key: key({ format: 'template-ram' }), plugged: [] });
    execFileSync('dd', ['if=/dev/urandom', `of=${mem}`, 'bs=4096', 'count=1', 'conv=notrunc'], { stdio: 'ignore' });
    await expect(s.takeRam()).rejects.toThrow(/RAM file ram.img changed since it was saved/);
    writeFileSync(s.ramTempPath, Buffer.alloc(1 << 20, 3));
    await s.commitRam({ key: key({ format: 'template-ram' }), plugged: [] });
    await s.discardMemory();
    await expect(s.takeRam()).rejects.toThrow(/RAM file ram.img is missing/);
    // Other formats record no RAM file.
    writeFileSync(s.ramTempPath, Buffer.alloc(1 << 20, 3));
    expect((await s.commitRam({ key: key(), plugged: [] })).ram?.memory).toBeUndefined();
  });

  it('the clone uses clonefile on macOS (a plain copy where the volume cannot), GNU cp keeping holes elsewhere', async () => {
    const calls: string[][] = [];
    const run: RunTool = async (command, args) => {
      calls.push([command, ...args]);
      if (args[0] === '-c') throw new Error('clonefile failed: Operation not supported');
      await runTool(
        command,
        args.filter((a) => a !== '-c'),
      );
    };
    const dir = join(work, 'mac');
    mkdirSync(dir);
    const src = join(dir, 'src.img');
    writeFileSync(src, 'ram');
    const s = new SessionStore(join(dir, 'session'), { run, platform: 'darwin' });
    mkdirSync(s.dir);
    await s.cloneMemory(src);
    expect(calls.map((c) => c.slice(0, 2))).toEqual([
      ['cp', '-c'],
      ['cp', src],
    ]);
    expect(readFileSync(s.memoryPath, 'utf8')).toBe('ram');
    calls.length = 0;
    const linux = new SessionStore(join(dir, 'session'), { run, platform: 'linux' });
    await linux.cloneMemory(src);
    expect(calls[0]!.slice(0, 3)).toEqual(['cp', '--reflink=auto', '--sparse=always']);
  });

  it('adopts a disk left elsewhere, and puts it back untouched when adoption fails', async () => {
    const dir = join(work, 'd');
    mkdirSync(dir);
    const img = image(join(dir, 'img.qcow2'), 0x11);
    const left = join(dir, 'run-vm-disk.qcow2');
    await createOverlay(img, left);
    execFileSync('qemu-io', ['-c', 'write -P 0x66 1M 64k', left], { stdio: 'ignore' });

    const failing: RunTool = async (cmd, args, o) => {
      if (cmd === 'qemu-img' && args[0] === 'rebase' && args.includes('image.qcow2'))
        throw new Error('injected rebase failure');
      return runTool(cmd, args, o);
    };
    const bad = new SessionStore(join(dir, 'session'), { run: failing });
    await expect(bad.adopt({ image: img, disk: left, meta: { ...meta, origin: 'adopted' } })).rejects.toThrow(
      /injected/,
    );
    expect(await backingNameOf(left)).toBe(img);
    expect(reads(left, 0x66, 1 << 20)).toBe(true);
    expect(existsSync(bad.dir)).toBe(false);

    const s = new SessionStore(join(dir, 'session'));
    await s.adopt({ image: img, disk: left, meta: { ...meta, origin: 'adopted' } });
    expect(existsSync(left)).toBe(false);
    expect(reads(s.disk, 0x66, 1 << 20)).toBe(true);
    expect(reads(s.disk, 0x11)).toBe(true);
    expect(await s.drop()).toBe(true);
    expect(existsSync(s.dir)).toBe(false);
  });

  it('sweeps temp directories of dead commands only', async () => {
    const dir = join(work, 'e');
    mkdirSync(join(dir, '.session.new-999999-abcd'), { recursive: true });
    mkdirSync(join(dir, `.session.old-${process.ppid}-abcd`), { recursive: true });
    await new SessionStore(join(dir, 'session')).sweep((pid) => pid === process.ppid);
    expect(existsSync(join(dir, '.session.new-999999-abcd'))).toBe(false);
    expect(existsSync(join(dir, `.session.old-${process.ppid}-abcd`))).toBe(true);
  });
});
