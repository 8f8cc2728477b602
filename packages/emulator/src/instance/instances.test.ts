import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../../test/fake-world.js';
import { testEnv, testOp } from '../../test/boot-env.js';
import type { Op } from '../context/op.js';
import { startEmulator } from '../boot/start.js';
import { instanceNames, runningOthers, summarizeInstance } from './instances.js';
import { notRunning } from './instance.js';

describe('instances of a home', () => {
  it('lists default first, then valid names under instances/, ignoring anything else', async () => {
    const w = new FakeWorld();
    const { paths } = testOp(w).config;
    for (const d of ['zeta', 'alpha', 'Bad', 'default']) mkdirSync(join(paths.instances, d), { recursive: true });
    writeFileSync(join(paths.instances, 'file'), '');
    expect(await instanceNames(paths)).toEqual(['default', 'alpha', 'zeta']);
  });

  it('summarises a running and a stopped instance (state, mode, ports, pid, uptime, memory)', async () => {
    const w = new FakeWorld();
    const path = w.image();
    const prepare = async (o: Op) => testEnv(o, path);
    const named = testOp(w, { flags: { instance: 'ci-1' } });
    const before = await summarizeInstance(named);
    expect(before).toMatchObject({ name: 'ci-1', state: 'stopped', portsMode: 'auto', pid: undefined });
    expect(before.ports).toBeUndefined(); // no port chosen yet
    const started = await startEmulator(named, { prepare });
    w.clock.now = () => Date.parse(started.state.startedAt) + 5000;
    const running = await summarizeInstance(named);
    expect(running).toMatchObject({
      name: 'ci-1',
      state: 'running',
      mode: started.state.mode,
      ports: started.state.ports,
      pid: started.state.pid,
      uptimeMs: 5000,
      memory: w.qemuMemory,
    });
    expect(running.sessionBytes).toBeGreaterThanOrEqual(0);
    const dflt = await summarizeInstance(testOp(w));
    expect(dflt).toMatchObject({ name: 'default', state: 'stopped', portsMode: 'fixed', mode: undefined });
    expect(await runningOthers(testOp(w))).toEqual(['ci-1']);
    expect(await runningOthers(named)).toEqual([]);
  });

  it("a running instance's ports mode is the one it was started with, not the listing command's", async () => {
    const w = new FakeWorld();
    const path = w.image();
    const started = await startEmulator(testOp(w, { flags: { ports: 'auto' } }), {
      prepare: async (o: Op) => testEnv(o, path),
    });
    const listed = await summarizeInstance(testOp(w)); // as `list` sees it: no --ports of its own
    expect(listed).toMatchObject({ name: 'default', state: 'running', portsMode: 'auto', ports: started.state.ports });
  });
});

describe('notRunning', () => {
  it('reads as before for the default instance and names a named one with its flag', () => {
    const w = new FakeWorld();
    expect(notRunning(testOp(w).config)).toMatchObject({
      code: 'NOT_RUNNING',
      message: 'the emulator is not running',
      hint: 'start it with `stack-emulator start`',
    });
    expect(notRunning(testOp(w, { flags: { instance: 'ci-1' } }).config)).toMatchObject({
      message: 'instance ci-1 is not running',
      hint: 'start it with `stack-emulator start --instance ci-1`',
    });
  });
});
