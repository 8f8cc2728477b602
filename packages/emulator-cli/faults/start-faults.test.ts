import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { testInstance } from '../e2e/cli-harness.js';
import { assertNextStartHealthy, assertNothingUnrecorded, faultAt, faultCounter } from './fault-harness.js';

// kill -9 and SIGINT of `start` at every named step of its two fast paths on the reference appliance:
// a first start (a new session on the golden snapshot, fresh secrets) and the resume of a saved
// session holding data. After each: no QEMU that nothing records, status answers, the next start is
// healthy, and the data written before the fault is there (issue 29, the fault suite).
const ok = hasTools('qemu-system-x86_64', 'qemu-img', 'zstd', 'debootstrap', 'mkfs.vfat', 'mcopy', 'sfdisk');
const emu = testInstance();
const faults = faultCounter('start');
const T = 900_000;

afterAll(() => emu.cleanup());

/** Steps of a golden resume into a new session, in order (boot/boot-env.ts mark). */
const GOLDEN_STEPS = [
  'probed',
  'prepared',
  'qemuLaunched',
  'loading',
  'loaded',
  'running',
  'agentReady',
  'rotated',
  'healthy',
];
/** Steps of a saved session's resume (no rotation: it keeps its secrets). */
const SESSION_STEPS = ['probed', 'prepared', 'qemuLaunched', 'loading', 'loaded', 'running', 'agentReady', 'healthy'];

async function reset() {
  const r = await emu.stop('--timeout', '5');
  expect(r.code, r.stderr).toBe(0);
  const { cli } = await import('../e2e/cli-harness.js');
  const z = await cli(['reset'], emu.env);
  expect(z.code, z.stderr).toBe(0);
}

describe.skipIf(!ok)('faults during start (reference appliance)', () => {
  beforeAll(async () => {
    // The golden snapshot once (its capture is a fault file of its own).
    await emu.started();
    await reset();
  }, T);

  describe('a first start: a new session on the golden snapshot', () => {
    for (const signal of ['SIGKILL', 'SIGINT'] as const)
      for (const step of GOLDEN_STEPS)
        it(
          `${signal} at ${step}`,
          async () => {
            await reset();
            const r = await faultAt(emu, ['start', '--image', 'reference'], { step, signal });
            expect(r.injected, `never reached ${step}: ${r.stderr.slice(-2000)}`).toBe(true);
            faults.injected();
            // At `healthy` an interrupt can land after the start recorded itself: then it started.
            if (signal === 'SIGINT')
              expect(step === 'healthy' ? [0, 130] : [130], r.stderr.slice(-2000)).toContain(r.code);
            await assertNothingUnrecorded(emu);
            const out = await assertNextStartHealthy(emu);
            // A session that never became healthy is begun anew from the snapshot, not cold-booted.
            expect(out.mode).not.toBe('cold');
          },
          T,
        );
  });

  describe('the resume of a saved session with data', () => {
    let n = 0;
    for (const signal of ['SIGKILL', 'SIGINT'] as const)
      for (const step of SESSION_STEPS)
        it(
          `${signal} at ${step}`,
          async () => {
            // The session holds a record, written through the backend, and is saved.
            await emu.started();
            const name = `before-${++n}`;
            expect((await emu.putData(name, `v${n}`, emu.key())).status).toBe(200);
            expect((await emu.stop()).code).toBe(0);
            const r = await faultAt(emu, ['start', '--image', 'reference'], { step, signal });
            expect(r.injected, `never reached ${step}: ${r.stderr.slice(-2000)}`).toBe(true);
            faults.injected();
            if (signal === 'SIGINT')
              expect(step === 'healthy' ? [0, 130] : [130], r.stderr.slice(-2000)).toContain(r.code);
            await assertNothingUnrecorded(emu);
            await assertNextStartHealthy(emu);
            // Nothing written before the fault is lost, whichever way the session came back.
            expect(await emu.getData(name, emu.key())).toEqual({ status: 200, body: `v${n}` });
            expect((await emu.stop()).code).toBe(0);
          },
          T,
        );
  });
});
