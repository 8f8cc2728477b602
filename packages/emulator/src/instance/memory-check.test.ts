import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../../test/fake-world.js';
import { testEnv, testOp } from '../../test/boot-env.js';
import type { Op } from '../context/op.js';
import { startEmulator } from '../boot/start.js';
import { HEADROOM_MIB, memoryVerdict } from './memory-check.js';

describe('memoryVerdict', () => {
  it('checks nothing while no other instance runs, nor when the figure is unknown', () => {
    expect(memoryVerdict({ guestMiB: 4096, othersRunning: 0, availableMiB: 10 }).kind).toBe('skip');
    expect(memoryVerdict({ guestMiB: 4096, othersRunning: 1, availableMiB: undefined }).kind).toBe('skip');
  });
  it('needs the guest RAM and the headroom', () => {
    const fits = 4096 + HEADROOM_MIB;
    expect(memoryVerdict({ guestMiB: 4096, othersRunning: 1, availableMiB: fits })).toEqual({
      kind: 'ok',
      neededMiB: fits,
      availableMiB: fits,
    });
    expect(memoryVerdict({ guestMiB: 4096, othersRunning: 2, availableMiB: fits - 1 }).kind).toBe('short');
  });
});

describe('STACK_EMULATOR_TEST_MEM_AVAILABLE_MIB', () => {
  it('is read through the resolved env, validated like every variable', () => {
    const w = new FakeWorld();
    expect(testOp(w).config.testMemAvailableMiB).toBeUndefined();
    expect(testOp(w, { env: { STACK_EMULATOR_TEST_MEM_AVAILABLE_MIB: '100' } }).config.testMemAvailableMiB).toBe(100);
    expect(() => testOp(w, { env: { STACK_EMULATOR_TEST_MEM_AVAILABLE_MIB: 'lots' } })).toThrow(
      /STACK_EMULATOR_TEST_MEM_AVAILABLE_MIB="lots"/,
    );
  });
});

describe('the memory check of a start', () => {
  const image = (w: FakeWorld) => {
    const path = w.image();
    return async (o: Op) => testEnv(o, path);
  };

  it('never checks the default instance alone (a user of one instance sees no change)', async () => {
    const w = new FakeWorld();
    w.availableMiB = 100;
    const r = await startEmulator(testOp(w), { prepare: image(w) });
    expect(r.alreadyRunning).toBe(false);
  });

  it('refuses a named instance beside a running one with the figures, and --force starts it anyway', async () => {
    const w = new FakeWorld();
    const prepare = image(w);
    await startEmulator(testOp(w), { prepare });
    const named = testOp(w, { flags: { instance: 'ci-1' }, env: { STACK_EMULATOR_TEST_MEM_AVAILABLE_MIB: '100' } });
    const err = await startEmulator(named, { prepare }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INSUFFICIENT_MEMORY' });
    const msg = (err as Error).message;
    expect(msg).toContain(`instance ci-1 needs ${named.config.memoryMiB + HEADROOM_MIB} MiB`);
    expect(msg).toContain('100 MiB available');
    expect(msg).toContain('(default)');
    expect((err as { hint: string }).hint).toContain('--force');

    const forced = testOp(w, {
      flags: { instance: 'ci-1', force: true },
      env: { STACK_EMULATOR_TEST_MEM_AVAILABLE_MIB: '100' },
    });
    const r = await startEmulator(forced, { prepare });
    expect(r.alreadyRunning).toBe(false);
    expect(forced.reporter.lines.some((l) => l.startsWith('warn') && l.includes('--force'))).toBe(true);
  });

  it("takes the host's figure through the memory seam when no test figure is given", async () => {
    const w = new FakeWorld();
    const prepare = image(w);
    await startEmulator(testOp(w), { prepare });
    w.availableMiB = 1000;
    await expect(startEmulator(testOp(w, { flags: { instance: 'b' } }), { prepare })).rejects.toMatchObject({
      code: 'INSUFFICIENT_MEMORY',
    });
    w.availableMiB = 1_000_000;
    await expect(startEmulator(testOp(w, { flags: { instance: 'b' } }), { prepare })).resolves.toMatchObject({
      alreadyRunning: false,
    });
  });
});
