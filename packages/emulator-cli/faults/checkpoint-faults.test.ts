import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { cli, testInstance } from '../e2e/cli-harness.js';
import { assertNextStartHealthy, assertNothingUnrecorded, faultAt, faultCounter } from './fault-harness.js';

// Faults while saving and restoring checkpoints (issue 31): after kill -9 or Ctrl-C at each step,
// no QEMU runs unrecorded, the session keeps what was written, the checkpoint is still there and
// restores, and the next start is healthy.
const ok = hasTools('qemu-system-x86_64', 'qemu-img', 'zstd', 'debootstrap', 'mkfs.vfat', 'mcopy', 'sfdisk');
const emu = testInstance();
const faults = faultCounter('checkpoint save, restore');
const T = 900_000;
let n = 0;

afterAll(() => emu.cleanup());

const put = async (name: string, body: string) => expect((await emu.putData(name, body, emu.key())).status).toBe(200);
const has = async (name: string, body: string) =>
  expect(await emu.getData(name, emu.key())).toEqual({ status: 200, body });
const restore = (...args: string[]) => cli(['checkpoint', 'restore', 'base', '--image', 'reference', ...args], emu.env);

describe.skipIf(!ok)('faults during checkpoint save and restore (reference appliance)', () => {
  it(
    'a checkpoint to fault around',
    async () => {
      await emu.started();
      await put('base', 'b');
      const r = await cli(['checkpoint', 'save', 'base'], emu.env);
      expect(r.code, r.stderr).toBe(0);
    },
    T,
  );

  // Every step of a save under kill -9, and Ctrl-C where the guest is paused with its disk switched.
  const saveFaults = [
    ...['paused', 'diskFrozen', 'ramSaved', 'running'].map((step) => ({ signal: 'SIGKILL' as const, step })),
    { signal: 'SIGINT' as const, step: 'diskFrozen' },
  ];
  for (const { signal, step } of saveFaults)
    it(
      `${signal} of checkpoint save --force at ${step}: the session keeps its data, the old checkpoint restores`,
      async () => {
        await emu.started();
        const rec = `rec-${++n}`;
        await put(rec, 'after');
        const r = await faultAt(emu, ['checkpoint', 'save', 'base', '--force'], { step, signal });
        expect(r.injected, `never reached ${step}: ${r.stderr.slice(-2000)}`).toBe(true);
        faults.injected();
        await assertNothingUnrecorded(emu);
        // A guest left paused is finished by the next start, which keeps what the session wrote.
        await assertNextStartHealthy(emu);
        await has(rec, 'after');
        const back = await restore();
        expect(back.code, back.stderr).toBe(0);
        await has('base', 'b');
        expect((await emu.getData(rec, emu.key())).status).toBe(404);
      },
      T,
    );

  for (const signal of ['SIGKILL'] as const)
    for (const step of ['restoring', 'sessionRestored', 'loaded'])
      it(
        `${signal} of checkpoint restore at ${step}: the checkpoint is whole and restores after`,
        async () => {
          await emu.started();
          await put('base', 'changed');
          const r = await faultAt(emu, ['checkpoint', 'restore', 'base', '--image', 'reference'], { step, signal });
          expect(r.injected, `never reached ${step}: ${r.stderr.slice(-2000)}`).toBe(true);
          faults.injected();
          await assertNothingUnrecorded(emu);
          const back = await restore();
          expect(back.code, back.stderr).toBe(0);
          await has('base', 'b');
          const s = await emu.status();
          expect(s.report.healthy, JSON.stringify(s.report)).toBe(true);
        },
        T,
      );
});
