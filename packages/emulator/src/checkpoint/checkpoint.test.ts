import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backingNameOf } from '@stack/snapshot-cache';
import { FakeWorld } from '../../test/fake-world.js';
import { testEnv, testOp } from '../../test/boot-env.js';
import { startEmulator } from '../boot/start.js';
import type { Op } from '../context/op.js';
import { resetEmulator } from '../instance/reset.js';
import { readState } from '../instance/state.js';
import { stopEmulator } from '../instance/stop.js';
import { sessionStore } from '../session/store.js';
import { listCheckpoints, removeCheckpoint } from './manage.js';
import { restoreCheckpoint } from './restore.js';
import { saveCheckpoint } from './save.js';

async function started(w: FakeWorld, format: 'template-ram' | 'mapped-ram' = 'mapped-ram') {
  const op = testOp(w);
  const image = w.image();
  const prepare = async (o: Op) => testEnv(o, image, 'tcg', format);
  const r = await startEmulator(op, { prepare });
  return { op, prepare, state: r.state };
}

const inode = (p: string) => statSync(p).ino;

// Real qemu-img and files behind every step: a loaded CI host takes more than vitest's default 5 s.
describe('checkpoint save, without a VM', { timeout: 30_000 }, () => {
  it('pauses, freezes the disk as a layer QEMU switches from, saves the state, runs the guest again; named after', async () => {
    const w = new FakeWorld();
    const { op, state } = await started(w);
    const session = sessionStore(op.config);
    const before = inode(session.disk);
    w.events.length = 0;
    const r = await saveCheckpoint(op, 'base');
    const dir = join(op.config.paths.checkpoints, 'base');
    expect(w.events).toEqual([
      'pause',
      expect.stringMatching(/^snapshot system .*\/session\/\.top-[0-9a-z]+-[0-9a-f]{8}\.qcow2$/),
      expect.stringMatching(/^save .*\/checkpoints\/\.new-\d+-[0-9a-f]+\/state\.raw$/),
      'cont',
    ]);
    // The session writes a new overlay on the frozen file, which the checkpoint holds too; it takes
    // the session's disk name once QEMU is gone (QEMU reopens files by name: none is renamed under it).
    const top = await session.currentDisk();
    expect(top).not.toBe(session.disk);
    const layer = (await backingNameOf(top))!;
    expect(layer).toMatch(/^layer-/);
    expect(inode(join(session.dir, layer))).toBe(before);
    expect(inode(join(dir, layer))).toBe(before);
    expect(existsSync(join(dir, 'state.raw'))).toBe(true);
    expect(r.checkpoint).toMatchObject({ name: 'base', instance: 'default', format: 'mapped-ram' });
    await stopEmulator(op);
    expect(await session.currentDisk()).toBe(session.disk);
    expect(await backingNameOf(session.disk)).toBe(layer);
    expect(r.timings.running).toBeGreaterThanOrEqual(r.timings.paused!);
    expect((await listCheckpoints(op)).map((c) => c.name)).toEqual(['base']);
    expect(w.alive(state.pid)).toBe(false);
  });

  it('a template session: its RAM file is cloned into the checkpoint while the guest is paused', async () => {
    const w = new FakeWorld();
    const { op } = await started(w, 'template-ram');
    await saveCheckpoint(op, 'base');
    const dir = join(op.config.paths.checkpoints, 'base');
    expect(existsSync(join(dir, 'ram.img'))).toBe(true);
    expect(inode(join(dir, 'ram.img'))).not.toBe(inode(sessionStore(op.config).memoryPath));
  });

  it('refuses a name in use without force, a bad name, a stopped instance; force replaces', async () => {
    const w = new FakeWorld();
    const { op } = await started(w);
    await saveCheckpoint(op, 'base');
    await expect(saveCheckpoint(op, 'base')).rejects.toMatchObject({ code: 'CHECKPOINT_EXISTS' });
    await expect(saveCheckpoint(op, '../x')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    const first = (await listCheckpoints(op))[0]!.createdAt;
    w.clock.sleep(5000);
    await saveCheckpoint(op, 'base', { force: true });
    expect((await listCheckpoints(op))[0]!.createdAt).not.toBe(first);
    await stopEmulator(op);
    await expect(saveCheckpoint(op, 'other')).rejects.toMatchObject({ code: 'NOT_RUNNING' });
  });
});

describe('checkpoint restore, without a VM', { timeout: 30_000 }, () => {
  it('ends the running VM without a save, makes the session at the checkpoint and resumes its state', async () => {
    const w = new FakeWorld();
    const { op, prepare, state } = await started(w);
    await saveCheckpoint(op, 'base');
    const ckptDir = join(op.config.paths.checkpoints, 'base');
    const layer = (await backingNameOf(await sessionStore(op.config).currentDisk()))!;
    w.events.length = 0;
    for (let i = 0; i < 2; i++) {
      const r = await restoreCheckpoint(op, 'base', { prepare });
      expect(r.alreadyRunning).toBe(false);
      expect(w.events.filter((e) => e.startsWith('load '))).toEqual([
        expect.stringContaining(`${sessionStore(op.config).dir}/state.raw`),
      ]);
      w.events.length = 0;
      // A fresh overlay on the checkpoint's frozen disk; the checkpoint keeps its files.
      expect(await backingNameOf(sessionStore(op.config).disk)).toBe(layer);
      expect(existsSync(join(ckptDir, 'state.raw'))).toBe(true);
    }
    expect(w.alive(state.pid)).toBe(false);
    expect((await readState(op.config.paths.state))!.pid).not.toBe(state.pid);
  });

  it('works from a stopped instance, and the restored session keeps the checkpoint’s key', async () => {
    const w = new FakeWorld();
    const { op, prepare } = await started(w);
    const key = (await sessionStore(op.config).read())!.clientKey;
    await saveCheckpoint(op, 'base');
    await stopEmulator(op);
    await restoreCheckpoint(op, 'base', { prepare });
    expect((await readState(op.config.paths.state))!.mode).toBe('session');
    expect((await sessionStore(op.config).read())!.clientKey).toBe(key);
  });

  it('refuses what it cannot resume before booting anything, and keeps the restored session', async () => {
    const w = new FakeWorld();
    const { op, prepare } = await started(w);
    await saveCheckpoint(op, 'base');
    // Another QEMU: the saved state does not load into it.
    const other = async (o: Op) => {
      const env = await prepare(o);
      return { ...env, host: { ...env.host, probe: { ...env.host.probe, version: { major: 9, minor: 2, micro: 0 } } } };
    };
    const launches = w.launches.length;
    await expect(restoreCheckpoint(op, 'base', { prepare: other })).rejects.toMatchObject({
      code: 'CHECKPOINT_INCOMPATIBLE',
      message: expect.stringContaining('checkpoint base cannot be resumed by this start'),
    });
    expect(w.launches.length).toBe(launches);
    expect((await sessionStore(op.config).read())!.ram).toBeDefined();
    await restoreCheckpoint(op, 'base', { prepare });
  });

  it('an unknown name lists the checkpoints there are; rm removes one and the restored session runs on', async () => {
    const w = new FakeWorld();
    const { op, prepare } = await started(w);
    await saveCheckpoint(op, 'a');
    await saveCheckpoint(op, 'b');
    await expect(restoreCheckpoint(op, 'c', { prepare })).rejects.toMatchObject({
      code: 'CHECKPOINT_NOT_FOUND',
      hint: expect.stringContaining('a, b'),
    });
    await restoreCheckpoint(op, 'a', { prepare });
    await removeCheckpoint(op, 'a');
    expect((await listCheckpoints(op)).map((c) => c.name)).toEqual(['b']);
    await expect(removeCheckpoint(op, 'a')).rejects.toMatchObject({ code: 'CHECKPOINT_NOT_FOUND' });
    expect(await stopEmulator(op)).toMatchObject({ how: 'saved' });
  });

  it('reset keeps checkpoints (restore one after it); reset with checkpoints removes them', async () => {
    const w = new FakeWorld();
    const { op, prepare } = await started(w);
    await saveCheckpoint(op, 'base');
    expect((await resetEmulator(op)).checkpointsDeleted).toEqual([]);
    await restoreCheckpoint(op, 'base', { prepare });
    expect((await resetEmulator(op, { checkpoints: true })).checkpointsDeleted).toEqual(['base']);
    expect(await listCheckpoints(op)).toEqual([]);
  });
});
