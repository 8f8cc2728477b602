import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSnapshotError, SnapshotCorruptError } from './errors.js';
import type { Fsync } from './fsync.js';
import type { CompatibilityKey } from './key.js';
import type { RunTool } from './run-tool.js';
import { SessionStore } from './session-store.js';

const work = mkdtempSync(join(tmpdir(), 'session-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(work, String(n++));
  mkdirSync(d);
  return d;
};

const key: CompatibilityKey = {
  imageDigest: 'b'.repeat(64),
  qemuVersion: '10.0.2',
  accel: 'tcg',
  layoutFingerprint: 'e'.repeat(64),
  configDisk: {},
  format: 'mapped-ram',
};
const meta = { origin: 'image' as const, image: { digest: 'b'.repeat(64), choice: 'reference' } };

/** qemu-img without qemu-img: `create` writes a placeholder at its last argument. */
const fakeQemuImg: RunTool = async (command, args) => {
  if (command !== 'qemu-img' || args[0] !== 'create') throw new Error(`unexpected ${command} ${args.join(' ')}`);
  writeFileSync(args.at(-1)!, 'QFI\xfb overlay');
};

/** An fsync that records each call, with what `probe` says at that moment. */
function recorder(probe: () => Promise<string> | string = () => '') {
  const calls: string[] = [];
  const fsync: Fsync = {
    file: async (p) => void calls.push(`file ${basename(p)} ${await probe()}`.trim()),
    dir: async (p) => void calls.push(`dir ${basename(p)} ${await probe()}`.trim()),
  };
  return { calls, fsync };
}

async function session(options: { fsync?: Fsync; run?: RunTool } = {}) {
  const dir = fresh();
  const img = join(dir, 'img.qcow2');
  writeFileSync(img, 'image');
  const s = new SessionStore(join(dir, 'session'), { run: options.run ?? fakeQemuImg, fsync: options.fsync });
  return { dir, img, s };
}

async function withRam(s: SessionStore, bytes = 3 << 20) {
  writeFileSync(s.ramTempPath, Buffer.alloc(bytes, 9));
  return s.commitRam({ key, plugged: [] });
}

describe('SessionStore: durability', () => {
  it('create syncs every file and the build directory before the rename, then the parent', async () => {
    const { dir, img, s } = await session();
    const r = recorder(() => (existsSync(s.dir) ? 'named' : 'unnamed'));
    const s2 = new SessionStore(s.dir, { run: fakeQemuImg, fsync: r.fsync });
    await s2.create({ image: img, meta, files: { 'image.qcow2.env': 'A=1' } });
    expect(r.calls.slice(0, -2).sort()).toEqual(
      [
        'file disk.qcow2 unnamed',
        'file image.qcow2 unnamed',
        'file image.qcow2.env unnamed',
        'file meta.json unnamed',
      ].sort(),
    );
    expect(r.calls.at(-2)).toMatch(/^dir \.session\.new-\d+-[0-9a-f]+ unnamed$/);
    expect(r.calls.at(-1)).toBe(`dir ${basename(dir)} named`);
  });

  it('commitRam syncs the state and the disk, renames, syncs the directory, and only then names the state', async () => {
    const { img, s } = await session();
    await s.create({ image: img, meta });
    const r = recorder(
      async () => `${existsSync(s.ramPath) ? 'renamed' : 'temp'} ${(await s.read())?.ram ? 'named' : 'unnamed'}`,
    );
    const s2 = new SessionStore(s.dir, { fsync: r.fsync });
    writeFileSync(s2.ramTempPath, Buffer.alloc(1 << 20, 1));
    await s2.commitRam({ key, plugged: [] });
    expect(r.calls).toEqual([
      'file state.raw.tmp temp unnamed',
      'file disk.qcow2 temp unnamed',
      'dir session renamed unnamed',
    ]);
    expect((await s2.read())?.ram?.file).toBe('state.raw');
  });
});

describe('SessionStore: read-only shares', () => {
  it('commitRam keeps which plugged shares were read-only, and leaves the field out when none were', async () => {
    const { img, s } = await session();
    await s.create({ image: img, meta });
    writeFileSync(s.ramTempPath, Buffer.alloc(1 << 20, 1));
    await s.commitRam({ key, plugged: ['/a', '/b'], readonly: ['/b'] });
    expect((await s.read())?.ram).toMatchObject({ plugged: ['/a', '/b'], readonly: ['/b'] });
    writeFileSync(s.ramTempPath, Buffer.alloc(1 << 20, 1));
    await s.commitRam({ key, plugged: ['/a'] });
    expect((await s.read())?.ram).not.toHaveProperty('readonly');
  });
});

describe('SessionStore: RAM leases', () => {
  it('a released lease leaves the state as it was, to be leased again', async () => {
    const { img, s } = await session();
    await s.create({ image: img, meta });
    const saved = await withRam(s);
    const lease = await s.leaseRam();
    expect(lease.path).toBe(s.ramPath);
    expect(lease.ram).toEqual(saved.ram);
    await lease.release();
    await lease.release(); // idempotent
    expect((await s.read())?.ram).toEqual(saved.ram);
    expect(readFileSync(s.ramPath).length).toBe(3 << 20);
    await expect(lease.consume()).rejects.toThrow(/already released/);
    const again = await s.leaseRam();
    await again.release();
  });

  it('consume removes the state from meta.json at once; the file stays readable until release', async () => {
    const { img, s } = await session();
    await s.create({ image: img, meta });
    await withRam(s);
    const lease = await s.leaseRam();
    await lease.consume();
    await lease.consume(); // idempotent
    expect(lease.consumed).toBe(true);
    expect((await s.read())?.ram).toBeUndefined();
    expect(existsSync(lease.path)).toBe(true); // QEMU may open it only now
    await expect(s.leaseRam()).rejects.toThrow(/no saved RAM state/);
    await lease.release();
    expect(existsSync(lease.path)).toBe(false);
  });

  it('releasing a consumed lease does not delete a state saved since under the same name', async () => {
    const { img, s } = await session();
    await s.create({ image: img, meta });
    await withRam(s);
    const lease = await s.leaseRam();
    await lease.consume();
    const newer = await withRam(s, 2 << 20);
    await lease.release();
    expect((await s.read())?.ram).toEqual(newer.ram);
    expect(readFileSync(s.ramPath).length).toBe(2 << 20);
  });

  it('a state that fails its check is discarded and refused', async () => {
    const { img, s } = await session();
    await s.create({ image: img, meta });
    await withRam(s);
    writeFileSync(s.ramPath, Buffer.alloc(1 << 20));
    await expect(s.leaseRam()).rejects.toBeInstanceOf(SnapshotCorruptError);
    expect((await s.read())?.ram).toBeUndefined();
    expect(existsSync(s.ramPath)).toBe(false);
  });

  it('takeRam (deprecated) still consumes at once and hands over a private copy', async () => {
    const { img, s } = await session();
    await s.create({ image: img, meta });
    await withRam(s);
    const path = await s.takeRam();
    expect(basename(path)).toBe('resuming.raw');
    expect((await s.read())?.ram).toBeUndefined();
    await s.discardRam();
    expect(existsSync(path)).toBe(false);
  });
});

describe('SessionStore: reading and sweeping', () => {
  it('a meta.json that cannot be read is SNAPSHOT_SESSION_UNREADABLE, and create leaves that session alone', async () => {
    const { img, s } = await session();
    await s.create({ image: img, meta });
    rmSync(join(s.dir, 'meta.json'));
    mkdirSync(join(s.dir, 'meta.json')); // reading it fails with EISDIR: an I/O error, not a garbled file
    const err = await s.read().catch((e: unknown) => e);
    expect(isSnapshotError(err) && err.code).toBe('SNAPSHOT_SESSION_UNREADABLE');
    expect((err as Error).cause).toMatchObject({ code: 'EISDIR' });
    await expect(s.create({ image: img, meta })).rejects.toMatchObject({ code: 'SNAPSHOT_SESSION_UNREADABLE' });
    expect(existsSync(s.disk)).toBe(true);
    expect(readdirSync(join(s.dir, '..')).filter((f) => f.includes('unreadable'))).toEqual([]);
  });

  it('a garbled meta.json or one of another schema is no session: set aside (kept) by the next create', async () => {
    for (const text of [
      '{"version":1,',
      '{"version":2}',
      JSON.stringify({
        version: 1,
        createdAt: 'x',
        origin: 'image',
        image: { digest: 'b', choice: 'c' },
        ram: { file: '../../x' },
      }),
    ]) {
      const { dir, img, s } = await session();
      await s.create({ image: img, meta });
      writeFileSync(join(s.dir, 'meta.json'), text);
      expect(await s.read()).toBeUndefined();
      await s.create({ image: img, meta });
      const aside = readdirSync(dir).filter((f) => f.startsWith('session.unreadable-'));
      expect(aside).toHaveLength(1);
      expect(readFileSync(join(dir, aside[0]!, 'meta.json'), 'utf8')).toBe(text);
      expect(existsSync(join(dir, aside[0]!, 'disk.qcow2'))).toBe(true);
    }
  });

  it('keeps unknown meta.json fields through an update', async () => {
    const { img, s } = await session();
    await s.create({ image: img, meta });
    const raw = JSON.parse(readFileSync(join(s.dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(s.dir, 'meta.json'), JSON.stringify({ ...raw, addedLater: { x: 1 } }));
    await s.update((m) => ({ ...m, clientKey: 'k' }));
    expect(JSON.parse(readFileSync(join(s.dir, 'meta.json'), 'utf8'))).toMatchObject({
      addedLater: { x: 1 },
      clientKey: 'k',
    });
  });

  it('sweep spares a build this process is running, even when told every pid is dead', async () => {
    let unblock: () => void = () => {};
    const blocked = new Promise<void>((r) => (unblock = r));
    const run: RunTool = async (command, args, o) => {
      await blocked;
      return fakeQemuImg(command, args, o);
    };
    const { dir, img, s } = await session({ run });
    const building = s.create({ image: img, meta });
    let inFlight: string | undefined;
    while (!(inFlight = readdirSync(dir).find((f) => f.startsWith('.session.new-'))))
      await new Promise((r) => setTimeout(r, 5));
    mkdirSync(join(dir, `.session.new-${process.pid}-dead0000`)); // this pid's, from an earlier life of it
    mkdirSync(join(dir, '.session.old-999999999-abcd'));
    mkdirSync(join(dir, '.session.new-xyz'));
    mkdirSync(join(dir, 'session.unreadable-1'));
    const removed = await s.sweep(() => false);
    expect(existsSync(join(dir, inFlight))).toBe(true);
    expect(existsSync(join(dir, `.session.new-${process.pid}-dead0000`))).toBe(false);
    expect(removed.sort()).toEqual([`.session.new-${process.pid}-dead0000`, '.session.old-999999999-abcd'].sort());
    unblock();
    await building;
    expect(await s.read()).toMatchObject(meta);
    expect(readdirSync(dir).sort()).toEqual(['.session.new-xyz', 'img.qcow2', 'session', 'session.unreadable-1']);
  });
});
