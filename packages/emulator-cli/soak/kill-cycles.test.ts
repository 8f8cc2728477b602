import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { testInstance } from '../e2e/cli-harness.js';

// Issue 29, 14 ("the cold boot that never answered", once in about 10 CI runs): kill -9 of QEMU, then
// a start that cold-boots the session's disk, so many times in a row. Each cycle writes one more row
// through the backend (PostgreSQL) and every earlier row must still be there. Not part of tools/test
// (20 cycles take about 20 minutes under TCG): `npx nx run emulator-cli:soak`, STACK_SOAK_CYCLES to
// change the count. The figures go to tmp/test-results/kill-cycles.json.
const ok = hasTools('qemu-system-x86_64', 'qemu-img', 'zstd', 'debootstrap', 'mkfs.vfat', 'mcopy', 'sfdisk');
const CYCLES = Number(process.env.STACK_SOAK_CYCLES ?? 20);
const emu = testInstance();
const cycles: { cycle: number; mode: string; coldReason?: string; ms: number; rows: number }[] = [];

afterAll(async () => {
  const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'tmp', 'test-results');
  mkdirSync(out, { recursive: true });
  const ms = cycles.map((c) => c.ms).sort((a, b) => a - b);
  const summary = {
    cycles: cycles.length,
    passedInARow: cycles.filter((c) => c.mode === 'cold').length,
    medianStartMs: ms.length ? ms[Math.floor(ms.length / 2)] : null,
    maxStartMs: ms.at(-1) ?? null,
    runs: cycles,
  };
  writeFileSync(join(out, 'kill-cycles.json'), JSON.stringify(summary, null, 2));
  process.stdout.write(`kill-cycles: ${JSON.stringify({ ...summary, runs: undefined })}\n`);
  await emu.cleanup();
});

describe.skipIf(!ok)(`kill -9 then a cold boot of the session disk, ${CYCLES} times in a row`, () => {
  it(
    'every cycle cold-boots healthy with every row written before it',
    async () => {
      expect(CYCLES, 'STACK_SOAK_CYCLES must be a positive count').toBeGreaterThan(0);
      await emu.started();
      const key = emu.key();
      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        expect((await emu.putData(`row-${cycle}`, `value ${cycle}`, key)).status).toBe(200);
        await emu.killQemu();
        const t0 = performance.now();
        const r = await emu.start();
        const ms = Math.round(performance.now() - t0);
        expect(r.code, `cycle ${cycle}: ${r.stderr}`).toBe(0);
        const out = JSON.parse(r.stdout) as { mode: string; coldReason?: string };
        cycles.push({
          cycle,
          mode: out.mode,
          ...(out.coldReason ? { coldReason: out.coldReason } : {}),
          ms,
          rows: cycle,
        });
        expect(out.mode, `cycle ${cycle}`).toBe('cold');
        expect(emu.key(), `cycle ${cycle}: the secrets are kept`).toBe(key);
        for (let i = 1; i <= cycle; i++)
          expect(await emu.getData(`row-${i}`, key), `cycle ${cycle}, row ${i}`).toEqual({
            status: 200,
            body: `value ${i}`,
          });
      }
    },
    CYCLES * 600_000,
  );
});
