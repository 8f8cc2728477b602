import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SnapshotCache } from '@stack/snapshot-cache';
import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../../test/fake-world.js';
import { testEnv, testOp } from '../../test/boot-env.js';
import { executeStart } from '../boot/execute.js';
import { sessionStore } from '../session/store.js';
import { findPrunable, pruneHome } from './prune.js';

const qemuVersion = async () => '10.0.2';

describe('prune (issue 29, 8: the home grew without bound)', () => {
  it('lists, then removes, quarantined snapshots, unreadable sessions set aside and snapshots of another QEMU; keeps the rest', async () => {
    const w = new FakeWorld();
    const op = testOp(w, { env: { EMULATOR_CACHE_DIR: join(w.home, 'cache') } });
    const image = w.image();
    // The image in place: in the home's images/ (as pulled).
    mkdirSync(op.config.paths.images, { recursive: true });
    const started = await executeStart(testEnv(op, image));
    await started.booted.vm.kill();
    const cache = new SnapshotCache(op.config.paths.snapshots);
    const [good] = await cache.list();
    // A second snapshot, quarantined; a session set aside.
    await sessionStore(op.config).drop();
    w.script({}, { loadFails: new Error('load of migration failed') });
    const other = await executeStart({ ...testEnv(op, image), snapshots: { format: 'stream' } });
    await other.booted.vm.kill();
    mkdirSync(`${op.config.paths.session}.unreadable-1700000000000`, { recursive: true });
    writeFileSync(join(`${op.config.paths.session}.unreadable-1700000000000`, 'disk.qcow2'), Buffer.alloc(8192));

    const found = await findPrunable(op, { qemuVersion });
    const whys = found.map((f) => f.why);
    expect(whys.some((x) => /quarantined/.test(x))).toBe(true);
    expect(whys.some((x) => /session set aside/.test(x))).toBe(true);
    // The good snapshot is of this QEMU and of an image the session still holds: kept.
    expect(found.map((f) => f.path)).not.toContain(good!.dir);

    const newer = await findPrunable(op, { qemuVersion: async () => '10.1.0' });
    expect(newer.some((f) => f.path === good!.dir && /of QEMU 10\.0\.2 \(this host has 10\.1\.0\)/.test(f.why))).toBe(
      true,
    );

    const dry = await pruneHome(op, { dryRun: true, qemuVersion });
    expect(dry.freed).toBe(0);
    for (const f of dry.items) expect(existsSync(f.path)).toBe(true);
    const done = await pruneHome(op, { qemuVersion });
    for (const f of done.items) expect(existsSync(f.path)).toBe(false);
    expect(existsSync(good!.dir)).toBe(true);
    expect(await findPrunable(op, { qemuVersion })).toEqual([]);
  });
});

describe('prune with named instances', () => {
  it("keeps what a named instance's session holds when run on the default instance", async () => {
    const w = new FakeWorld();
    const cacheEnv = { EMULATOR_CACHE_DIR: join(w.home, 'cache') };
    const named = testOp(w, { flags: { instance: 'ci-1' }, env: cacheEnv });
    const started = await executeStart(testEnv(named, w.image()));
    await started.booted.vm.kill();
    const [golden] = await new SnapshotCache(named.config.paths.snapshots).list();
    expect(await sessionStore(named.config).read()).toBeDefined();
    // The default instance has no session; the image's only holder is ci-1's session.
    const found = await findPrunable(testOp(w, { env: cacheEnv }), { qemuVersion });
    expect(found.map((f) => f.path)).not.toContain(golden!.dir);
  });
});
