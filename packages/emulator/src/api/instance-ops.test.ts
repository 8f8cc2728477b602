import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../../test/fake-world.js';
import { testEnv, testOp } from '../../test/boot-env.js';
import { detectHost } from '../config/host-info.js';
import type { Op } from '../context/op.js';
import { startEmulator } from '../boot/start.js';
import { stopEmulator } from '../instance/stop.js';
import { list, stopAll } from './instance-ops.js';

describe('list and stopAll over the instances of a home', () => {
  it('lists every instance with its state and ports, then stops every running one', async () => {
    const w = new FakeWorld();
    const path = w.image();
    const prepare = async (o: Op) => testEnv(o, path);
    await startEmulator(testOp(w), { prepare });
    const a = await startEmulator(testOp(w, { flags: { instance: 'a' } }), { prepare });
    await startEmulator(testOp(w, { flags: { instance: 'b' } }), { prepare });
    await stopEmulator(testOp(w, { flags: { instance: 'b' } }));
    const options = {
      env: { STACK_EMULATOR_HOME: `${w.home}/home`, XDG_RUNTIME_DIR: `${w.home}/run`, HOME: w.home },
      host: detectHost({ platform: 'linux', arch: 'x64', cores: 2, memoryMiB: 8192 }),
    };
    const before = await list(options, w.seams);
    expect(before.map((i) => [i.name, i.state])).toEqual([
      ['default', 'running'],
      ['a', 'running'],
      ['b', 'stopped'],
    ]);
    expect(before[1]!.ports).toEqual(a.state.ports);
    // b is stopped: stopAll leaves it out.
    const stopped = await stopAll(options, w.seams);
    expect(stopped.map((s) => [s.instance, s.result?.wasRunning])).toEqual([
      ['default', true],
      ['a', true],
    ]);
    expect((await list(options, w.seams)).every((i) => i.state === 'stopped')).toBe(true);
  });

  it("lists named instances also where EMULATOR_RUN_DIR moves the default one's run directory", async () => {
    const w = new FakeWorld();
    const path = w.image();
    const prepare = async (o: Op) => testEnv(o, path);
    const runDir = `${w.home}/legacy-run`;
    const dflt = await startEmulator(testOp(w, { env: { EMULATOR_RUN_DIR: runDir } }), { prepare });
    await startEmulator(testOp(w, { flags: { instance: 'a' } }), { prepare });
    const env = { STACK_EMULATOR_HOME: `${w.home}/home`, XDG_RUNTIME_DIR: `${w.home}/run`, HOME: w.home };
    const host = detectHost({ platform: 'linux', arch: 'x64', cores: 2, memoryMiB: 8192 });
    const all = await list({ env: { ...env, EMULATOR_RUN_DIR: runDir }, host }, w.seams);
    expect(all.map((i) => [i.name, i.state, i.pid])).toEqual([
      ['default', 'running', dflt.state.pid],
      ['a', 'running', expect.any(Number)],
    ]);
  });
});
