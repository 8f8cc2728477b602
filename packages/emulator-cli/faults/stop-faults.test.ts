import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { cli, testInstance } from '../e2e/cli-harness.js';
import { assertNextStartHealthy, assertNothingUnrecorded, faultAt, faultCounter, stepsSeen } from './fault-harness.js';

// Faults while stopping (saving the session) and capturing, and QEMU killed under the CLI: after
// each, nothing recorded is lost, no QEMU runs that nothing records, the next start is healthy.
const ok = hasTools('qemu-system-x86_64', 'qemu-img', 'zstd', 'debootstrap', 'mkfs.vfat', 'mcopy', 'sfdisk');
const emu = testInstance();
const faults = faultCounter('stop, capture, QEMU');
const T = 900_000;
let n = 0;

afterAll(() => emu.cleanup());

/** A running session holding a fresh record; returns its name and value. */
async function withData(): Promise<{ name: string; body: string }> {
  await emu.started();
  const name = `rec-${++n}`;
  expect((await emu.putData(name, `v${n}`, emu.key())).status).toBe(200);
  return { name, body: `v${n}` };
}

async function dataIsThere(rec: { name: string; body: string }) {
  expect(await emu.getData(rec.name, emu.key())).toEqual({ status: 200, body: rec.body });
}

const tempDirs = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((d) => d.startsWith('.tmp-')) : []);

describe.skipIf(!ok)('faults during stop, capture, and of QEMU (reference appliance)', () => {
  for (const signal of ['SIGKILL', 'SIGINT'] as const)
    for (const step of ['saving', 'ramSaved', 'qemuExited', 'committed'])
      it(
        `${signal} of stop at ${step}`,
        async () => {
          const rec = await withData();
          const r = await faultAt(emu, ['stop'], { step, signal });
          expect(r.injected, `never reached ${step}: ${r.stderr.slice(-2000)}`).toBe(true);
          faults.injected();
          await assertNothingUnrecorded(emu);
          // Whatever the stop got to, the next start comes up with the data (resumed, or the disk booted).
          await assertNextStartHealthy(emu);
          await dataIsThere(rec);
        },
        T,
      );

  it(
    'kill -9 of QEMU while it runs: the next start boots the session disk, data kept, reason given',
    async () => {
      const rec = await withData();
      faults.injected();
      await emu.killQemu();
      await assertNothingUnrecorded(emu);
      const out = await assertNextStartHealthy(emu);
      expect(out.mode).toBe('cold');
      await dataIsThere(rec);
    },
    T,
  );

  it(
    'kill -9 of QEMU while the stop saves it: the stop says so, the data is kept',
    async () => {
      const rec = await withData();
      const s = await emu.status();
      const pid = s.report.instance!.pid;
      const r = await cli(['stop', '--verbose', '--json'], emu.env, {
        interruptAfter: (stderr) => {
          if (stepsSeen(stderr, 'saving') < 1) return false;
          process.kill(pid, 'SIGKILL');
          return true;
        },
        signal: 'SIGCONT', // the CLI itself is left alone
      });
      faults.injected();
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      await assertNothingUnrecorded(emu);
      await assertNextStartHealthy(emu);
      await dataIsThere(rec);
    },
    T,
  );

  for (const step of ['qemuLaunched', 'agentReady', 'stateSaved'])
    it(
      `kill -9 of capture at ${step}: no half snapshot is ever found, nothing runs unrecorded`,
      async () => {
        const rec = await withData();
        expect((await emu.stop()).code).toBe(0);
        const before = emu.snapshotIds();
        const r = await faultAt(emu, ['capture', '--image', 'reference'], { step, signal: 'SIGKILL' });
        expect(r.injected, `never reached ${step}: ${r.stderr.slice(-2000)}`).toBe(true);
        faults.injected();
        await assertNothingUnrecorded(emu);
        await assertNextStartHealthy(emu);
        await dataIsThere(rec);
        // Every snapshot directory is whole (a start sweeps what a killed capture left).
        expect(tempDirs(join(emu.home, 'snapshots'))).toEqual([]);
        expect(emu.snapshotIds().length).toBeGreaterThanOrEqual(Math.min(1, before.length));
      },
      T,
    );
});
