import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../../test/fake-world.js';
import { testEnv, testOp } from '../../test/boot-env.js';
import { runOp } from '../api/options.js';
import type { Op } from '../context/op.js';
import { EmulatorError } from '../errors.js';
import { stopEmulator } from '../instance/stop.js';
import { sessionStore } from '../session/store.js';
import { startEmulator } from './start.js';

/** A home with a saved session: started once, stopped with a save. */
async function savedSession(w: FakeWorld) {
  const image = w.image();
  const prepare = async (o: Op) => testEnv(o, image);
  const op = testOp(w);
  await startEmulator(op, { prepare });
  expect((await stopEmulator(op)).how).toBe('saved');
  return { op, prepare };
}

describe('resuming the saved session (issue 29, 5: its RAM was thrown away before QEMU had loaded it)', () => {
  it('resumes it: the state is loaded against the session disk and spent right before the guest runs', async () => {
    const w = new FakeWorld();
    const { op, prepare } = await savedSession(w);
    const r = await startEmulator(op, { prepare });
    expect(r.state.mode).toBe('session');
    expect(w.launches.at(-1)!.spec.paused).toBe(true); // -S: nothing runs before the state is spent
    expect((await sessionStore(op.config).read())!.ram).toBeUndefined();
    const load = w.events.findLastIndex((e) => e.startsWith('load '));
    expect(w.events[load + 1]).toBe('cont');
  });

  for (const point of ['launched', 'loaded'] as const) {
    it(`an interrupt when QEMU has ${point} the state, before the guest runs, keeps the saved session whole`, async () => {
      const w = new FakeWorld();
      const { op, prepare } = await savedSession(w);
      const ac = new AbortController();
      w.script({ at: { point, run: () => ac.abort(new EmulatorError('INTERRUPTED', 'interrupted by SIGINT')) } });
      const sub = { ...op, signal: ac.signal };
      await expect(runOp(sub, false, () => startEmulator(sub, { prepare }))).rejects.toMatchObject({
        code: 'INTERRUPTED',
      });
      expect(w.running).toEqual([]);
      expect((await sessionStore(op.config).read())!.ram).toBeDefined();
      // And the next start resumes it.
      expect((await startEmulator(op, { prepare })).state.mode).toBe('session');
    });
  }

  it('a state QEMU refuses falls back to a cold boot of the session disk, data kept, with the reason', async () => {
    const w = new FakeWorld();
    const { op, prepare } = await savedSession(w);
    w.script({ loadFails: new EmulatorError('QEMU_FAILED', 'load of migration failed: Invalid argument') });
    const r = await startEmulator(op, { prepare });
    expect(r.state).toMatchObject({ mode: 'cold', coldReason: expect.stringContaining('load of migration failed') });
    expect(await sessionStore(op.config).read()).toMatchObject({ origin: 'golden' });
  });
});
