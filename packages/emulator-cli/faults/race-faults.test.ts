import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { cli, testInstance } from '../e2e/cli-harness.js';
import { assertNextStartHealthy, assertNothingUnrecorded, faultCounter, stepsSeen } from './fault-harness.js';

// Two commands at once on one home: the lock lets one work at a time (the other says so, exit 4, or
// finds the work done), status answers during a start, and afterwards nothing runs unrecorded and the
// next start is healthy.
const ok = hasTools('qemu-system-x86_64', 'qemu-img', 'zstd', 'debootstrap', 'mkfs.vfat', 'mcopy', 'sfdisk');
const emu = testInstance();
const faults = faultCounter('races');
const T = 900_000;
const start = ['start', '--image', 'reference'];

afterAll(() => emu.cleanup());

describe.skipIf(!ok)('two commands at once (reference appliance)', () => {
  it(
    'start and stop',
    async () => {
      await emu.started();
      expect((await emu.stop()).code).toBe(0);
      faults.injected();
      const [a, b] = await Promise.all([cli(start, emu.env), cli(['stop'], emu.env)]);
      expect([0, 4], a.stderr).toContain(a.code);
      expect([0, 4], b.stderr).toContain(b.code);
      await assertNothingUnrecorded(emu);
      await assertNextStartHealthy(emu);
    },
    T,
  );

  it(
    'start and reset',
    async () => {
      expect((await emu.stop()).code).toBe(0);
      faults.injected();
      const [a, b] = await Promise.all([cli(start, emu.env), cli(['reset'], emu.env)]);
      expect([0, 4], a.stderr).toContain(a.code);
      expect([0, 4], b.stderr).toContain(b.code);
      await assertNothingUnrecorded(emu);
      // If the start ran after the reset, it must still be healthy: reset never dropped its session.
      await assertNextStartHealthy(emu);
    },
    T,
  );

  it(
    'stop and stop',
    async () => {
      await emu.started();
      faults.injected();
      const [a, b] = await Promise.all([cli(['stop'], emu.env), cli(['stop'], emu.env)]);
      expect([a.code, b.code].sort()).toEqual(expect.arrayContaining([0]));
      for (const r of [a, b]) expect([0, 4], r.stderr).toContain(r.code);
      await assertNothingUnrecorded(emu);
      await assertNextStartHealthy(emu);
    },
    T,
  );

  it(
    'start and start',
    async () => {
      expect((await emu.stop()).code).toBe(0);
      faults.injected();
      const [a, b] = await Promise.all([cli(start, emu.env), cli(start, emu.env)]);
      for (const r of [a, b]) expect([0, 4], r.stderr).toContain(r.code);
      expect([a.code, b.code]).toContain(0);
      await assertNothingUnrecorded(emu);
      await assertNextStartHealthy(emu);
    },
    T,
  );

  it(
    'status during a start: it answers (starting, or running) and changes nothing',
    async () => {
      expect((await emu.stop()).code).toBe(0);
      faults.injected();
      let during: Promise<Awaited<ReturnType<typeof cli>>> | undefined;
      const r = await cli([...start, '--verbose', '--json'], emu.env, {
        interruptAfter: (stderr) => {
          if (stepsSeen(stderr, 'qemuLaunched') < 1) return false;
          during ??= cli(['status', '--json'], emu.env);
          return false;
        },
      });
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      const s = await during!;
      expect([0, 1], s.stderr).toContain(s.code);
      expect(JSON.parse(s.stdout)).toMatchObject({ vm: 'running' });
      await assertNothingUnrecorded(emu);
      expect((await emu.status()).report.healthy).toBe(true);
    },
    T,
  );
});
