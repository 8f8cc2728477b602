import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SnapshotCache } from './cache.js';
import { isSnapshotError } from './errors.js';
import type { Fsync } from './fsync.js';
import type { CompatibilityKey } from './key.js';
import type { RunTool } from './run-tool.js';

const work = mkdtempSync(join(tmpdir(), 'cache-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(work, String(n++));

const key = (over: Partial<CompatibilityKey> = {}): CompatibilityKey => ({
  imageDigest: 'a'.repeat(64),
  qemuVersion: '10.0.2',
  accel: 'tcg',
  layoutFingerprint: 'f'.repeat(64),
  configDisk: {},
  format: 'mapped-ram',
  ...over,
});

/** zstd without zstd: "compressing" and "decompressing" copy the file. */
const fakeZstd: RunTool = async (command, args) => {
  if (command !== 'zstd') throw new Error(`unexpected ${command}`);
  const src = args.at(-3)!;
  copyFileSync(src, args.at(-1)!);
};

function recorder(probe: () => string = () => '') {
  const calls: string[] = [];
  const fsync: Fsync = {
    file: async (p) => void calls.push(`file ${basename(p).replace(/-\d+-[0-9a-f]+$/, '-*')} ${probe()}`.trim()),
    dir: async (p) => void calls.push(`dir ${basename(p).replace(/-\d+-[0-9a-f]+$/, '-*')} ${probe()}`.trim()),
  };
  return { calls, fsync };
}

async function captured(cache: SnapshotCache, k = key()) {
  const cap = await cache.beginCapture(k);
  writeFileSync(cap.statePath, Buffer.alloc(3 << 20, 7));
  return cap.commit();
}

describe('SnapshotCache: durability', () => {
  it('a capture is synced, file by file and then its directory, before it is named; the root after', async () => {
    const root = fresh();
    const r = recorder(() => (readdirSync(root).some((f) => /^[0-9a-f]{32}$/.test(f)) ? 'named' : 'unnamed'));
    const cache = new SnapshotCache(root, { run: fakeZstd, fsync: r.fsync });
    const cap = await cache.beginCapture(key({ format: 'template-ram' }));
    writeFileSync(cap.statePath, Buffer.alloc(1 << 20, 7));
    writeFileSync(cap.ramPath, Buffer.alloc(1 << 20, 8));
    await cap.commit();
    expect(r.calls.slice(0, -2).sort()).toEqual(
      ['file meta.json unnamed', 'file ram.img unnamed', 'file state.raw unnamed', 'file state.zst unnamed'].sort(),
    );
    expect(r.calls.slice(-2)).toEqual(['dir .tmp-* unnamed', `dir ${basename(root)} named`]);
  });

  it('a state rebuilt from the compressed copy is synced before it replaces the damaged one', async () => {
    const root = fresh();
    const entry = await captured(new SnapshotCache(root, { run: fakeZstd }));
    const raw = join(entry.dir, 'state.raw');
    writeFileSync(raw, 'truncated');
    const r = recorder(() =>
      readdirSync(entry.dir).some((f) => f.startsWith('.state.raw.tmp-')) ? 'not renamed' : 'renamed',
    );
    await new SnapshotCache(root, { run: fakeZstd, fsync: r.fsync }).prepareResume(entry);
    expect(r.calls).toEqual(['file .state.raw.tmp-* not renamed', `dir ${entry.id} renamed`]);
  });

  it('quarantine writes and syncs the reason inside the entry before moving it, and syncs the move', async () => {
    const root = fresh();
    const entry = await captured(new SnapshotCache(root, { run: fakeZstd }));
    const r = recorder(() => (existsSync(entry.dir) ? 'in place' : 'moved'));
    const dest = await new SnapshotCache(root, { fsync: r.fsync }).quarantine(entry, 'agent never answered');
    expect(r.calls).toEqual([
      expect.stringMatching(/^file \.reason\.json\..*\.tmp in place$/),
      `dir ${entry.id} in place`,
      'dir quarantine moved',
      `dir ${basename(root)} moved`,
    ]);
    expect(readdirSync(dest)).toContain('reason.json');
  });
});

describe('SnapshotCache: inventory and removal', () => {
  it('lists ready, quarantined and garbled entries with key, image, sizes and last use', async () => {
    const root = fresh();
    const cache = new SnapshotCache(root, { run: fakeZstd });
    const a = await captured(cache, key());
    const b = await captured(cache, key({ imageDigest: 'c'.repeat(64) }));
    const c = await captured(cache, key({ accel: 'kvm' }));
    await cache.quarantine(c, 'device tree differs');
    mkdirSync(join(root, 'd'.repeat(32)));
    writeFileSync(join(root, 'd'.repeat(32), 'meta.json'), '{"version":1}');
    linkSync(join(b.dir, 'state.zst'), join(root, '..', `${basename(root)}-elsewhere.zst`)); // shared with another link
    expect((await cache.inventory()).find((i) => i.id === a.id)?.lastUsed).toBeUndefined();
    await cache.prepareResume(a);

    const items = await cache.inventory();
    expect(items.map((i) => [i.id, i.state]).sort()).toEqual(
      [
        [a.id, 'ready'],
        [b.id, 'ready'],
        [c.id, 'quarantined'],
        ['d'.repeat(32), 'garbled'],
      ].sort(),
    );
    const ia = items.find((i) => i.id === a.id)!;
    expect(ia.imageDigest).toBe('a'.repeat(64));
    expect(ia.key).toEqual(key());
    expect(ia.size).toBeGreaterThanOrEqual(2 * (3 << 20));
    expect(ia.sharedSize).toBe(0);
    expect(Date.now() - Date.parse(ia.lastUsed!)).toBeLessThan(60_000);
    const ib = items.find((i) => i.id === b.id)!;
    expect(ib.imageDigest).toBe('c'.repeat(64));
    expect(ib.sharedSize).toBeGreaterThanOrEqual(3 << 20);
    expect(items.find((i) => i.id === c.id)?.quarantined?.reason).toBe('device tree differs');
  });

  it('removes ready, quarantined and garbled entries, and nothing outside the cache', async () => {
    const root = fresh();
    const cache = new SnapshotCache(root, { run: fakeZstd });
    const a = await captured(cache, key());
    await cache.quarantine(await captured(cache, key({ accel: 'kvm' })), 'broken');
    mkdirSync(join(root, 'd'.repeat(32)));
    for (const item of await cache.inventory()) expect(await cache.remove(item)).toBe(true);
    expect(await cache.inventory()).toEqual([]);
    expect(await cache.remove(a)).toBe(false);
    await expect(cache.remove({ dir: root })).rejects.toThrow(/not an entry/);
    await expect(cache.remove({ dir: join(root, '..', 'e'.repeat(32)) })).rejects.toThrow(/not an entry/);
    expect(readdirSync(root).filter((f) => !f.startsWith('quarantine'))).toEqual([]);
  });

  it('a resume of an entry removed after its lookup is SNAPSHOT_NOT_FOUND, not a corrupt snapshot', async () => {
    const root = fresh();
    const cache = new SnapshotCache(root, { run: fakeZstd });
    await captured(cache);
    const found = await cache.lookup(key());
    if (!found.hit) throw new Error(found.reason);
    await new SnapshotCache(root).remove(found.entry); // another process prunes it
    const err = await cache.prepareResume(found.entry).catch((e: unknown) => e);
    expect(isSnapshotError(err) && err.code).toBe('SNAPSHOT_NOT_FOUND');
    const q = await cache.quarantine(found.entry, 'x').catch((e: unknown) => e);
    expect(isSnapshotError(q) && q.code).toBe('SNAPSHOT_NOT_FOUND');
    expect(readdirSync(root).filter((f) => /^[0-9a-f]{32}$/.test(f))).toEqual([]); // not recreated empty
  });

  it('sweep spares a capture this process is running, and removes what dead ones left', async () => {
    const root = fresh();
    const cache = new SnapshotCache(root, { run: fakeZstd });
    const entry = await captured(cache);
    const live = await cache.beginCapture(key({ accel: 'kvm' }));
    mkdirSync(join(root, `.tmp-${process.pid}-dead0000`)); // this pid's, from an earlier life of it
    mkdirSync(join(root, '.tmp-999999999-abcd'));
    mkdirSync(join(root, `.old-${'1'.repeat(32)}-0a0b0c0d`)); // trash named before pids were
    writeFileSync(join(entry.dir, '.state.raw.tmp-999999999-abcd'), 'half');
    const removed = await cache.sweep(() => false);
    expect(existsSync(live.dir)).toBe(true);
    expect(removed.sort()).toEqual(
      [
        `.tmp-${process.pid}-dead0000`,
        '.tmp-999999999-abcd',
        `.old-${'1'.repeat(32)}-0a0b0c0d`,
        `${entry.id}/.state.raw.tmp-999999999-abcd`,
      ].sort(),
    );
    writeFileSync(live.statePath, 'state');
    await live.commit();
    expect((await cache.lookup(key({ accel: 'kvm' }))).hit).toBe(true);
  });
});

describe('SnapshotCache: a capture committed under another key', () => {
  it('is stored under (and found by) the key given to commit, not the one it began with', async () => {
    const cache = new SnapshotCache(fresh(), { run: fakeZstd, fsync: recorder().fsync });
    const begun = key({ configDisk: { STACK_EMULATOR_BACKEND_HOST_PORT: '27001' } });
    const told = key({ configDisk: { STACK_EMULATOR_BACKEND_HOST_PORT: '26701' } });
    const cap = await cache.beginCapture(begun);
    writeFileSync(cap.statePath, Buffer.alloc(1 << 20, 7));
    const entry = await cap.commit({ key: told });
    expect(entry.meta.key).toEqual(told);
    expect(await cache.lookup(told)).toMatchObject({ hit: true, entry: { id: entry.id } });
    expect((await cache.lookup(begun)).hit).toBe(false);
  });
});
