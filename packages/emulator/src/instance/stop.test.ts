import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../../test/fake-world.js';
import { testEnv, testOp } from '../../test/boot-env.js';
import { runOp } from '../api/options.js';
import { startEmulator } from '../boot/start.js';
import type { Op } from '../context/op.js';
import { EmulatorError } from '../errors.js';
import { sessionStore } from '../session/store.js';
import { resetEmulator } from './reset.js';
import { readState, writeState } from './state.js';
import { stopEmulator } from './stop.js';

async function started(w: FakeWorld, signal?: AbortSignal) {
  const op = testOp(w, { signal });
  const image = w.image();
  const prepare = async (o: Op) => testEnv(o, image);
  const r = await startEmulator(op, { prepare });
  return { op, prepare, state: r.state };
}

describe('stop, without a VM', () => {
  it('saves a session: RAM state committed only after QEMU is gone, then named in the session', async () => {
    const w = new FakeWorld();
    const { op, state } = await started(w);
    const r = await stopEmulator(op);
    expect(r).toMatchObject({ wasRunning: true, how: 'saved' });
    expect(w.alive(state.pid)).toBe(false);
    expect((await sessionStore(op.config).read())!.ram).toBeDefined();
    expect(await readState(op.config.paths.state)).toBeUndefined();
  });

  // Regression (issue 29, 4): Ctrl-C while saving left QEMU paused, and start then said "already running".
  it('an interrupt during the save cancels it: the VM runs on as it was, recorded, and a later stop works', async () => {
    const w = new FakeWorld();
    const { op, state } = await started(w);
    const ac = new AbortController();
    w.onSave = () => ac.abort(new EmulatorError('INTERRUPTED', 'interrupted by SIGINT'));
    const sub = { ...op, signal: ac.signal };
    await expect(runOp(sub, false, () => stopEmulator(sub))).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(w.alive(state.pid)).toBe(true);
    expect(await readState(op.config.paths.state)).toMatchObject({ pid: state.pid });
    expect((await sessionStore(op.config).read())!.ram).toBeUndefined();
    expect(existsSync(sessionStore(op.config).ramTempPath)).toBe(false);
    w.onSave = undefined;
    expect(await stopEmulator(op)).toMatchObject({ how: 'saved' });
  });

  it('a VM whose start never finished is ended without a save (its secrets may be half-rotated)', async () => {
    const w = new FakeWorld();
    const { op, state } = await started(w);
    const s = (await readState(op.config.paths.state))!;
    await writeState(op.config.paths.state, { ...s, phase: 'starting', starter: { pid: 999_999_999 } });
    const r = await stopEmulator(op);
    expect(r.how).toBe('qmp-quit');
    expect(w.alive(state.pid)).toBe(false);
    expect((await sessionStore(op.config).read())!.lastStop).toMatchObject({ saved: false });
  });

  it('never signals a QEMU it cannot prove is its own', async () => {
    const w = new FakeWorld();
    const { op, state } = await started(w);
    w.deaf = true;
    const s = (await readState(op.config.paths.state))!;
    await writeState(op.config.paths.state, { ...s, persistence: { kind: 'ephemeral' } });
    const proven = w.processes.proven;
    w.processes.proven = () => false;
    await expect(stopEmulator(op, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'STOP_REFUSED' });
    expect(w.alive(state.pid)).toBe(true);
    w.processes.proven = proven;
    expect((await stopEmulator(op, { timeoutMs: 100 })).how).toMatch(/^sig/);
    expect(w.alive(state.pid)).toBe(false);
  });
});

describe('a stop killed mid-save', () => {
  it('leaves a paused VM that the next start finishes stopping (saved), then resumes', async () => {
    const w = new FakeWorld();
    const { op, prepare, state } = await started(w);
    w.attachedStatus = 'postmigrate';
    const r = await startEmulator(op, { prepare });
    expect(r.alreadyRunning).toBe(false);
    expect(w.alive(state.pid)).toBe(false);
    expect(r.state.mode).toBe('session');
    expect(op.reporter.lines.some((l) => l.includes('a stop was interrupted'))).toBe(true);
  });
});

describe('reset, without a VM', () => {
  // Regression (issue 29, 2): reset took the lock twice (to stop, then to drop); a start in between
  // had its session dropped and run/vm removed under its running VM.
  it('stops, drops the session and clears run/vm under one hold of the lock', async () => {
    const w = new FakeWorld();
    const { op, prepare } = await started(w);
    let gap = false;
    let busy: unknown;
    // From the moment reset's QEMU is gone until run/vm (its last step) is removed, the lock file must
    // never be free: with two holds, a start got in between and its session was then dropped.
    const watch = () => {
      if (!existsSync(op.config.paths.vm)) return;
      if (!existsSync(op.config.paths.lock)) gap = true;
      setImmediate(watch);
    };
    const attach = w.vms.attach;
    w.vms.attach = async (...a) => {
      const c = (await attach(...a))!;
      return {
        ...c,
        quit: async () => {
          await c.quit();
          watch();
          busy = await startEmulator(op, { prepare }).catch((e: unknown) => e);
        },
      };
    };
    const r = await resetEmulator(op);
    expect(gap).toBe(false);
    expect(busy).toMatchObject({ code: 'LOCK_BUSY' });
    expect(r.sessionDiscarded).toBe(true);
    expect(await sessionStore(op.config).read()).toBeUndefined();
    expect(w.running).toEqual([]);
  });
});
