// `stack-emulator bench` on the reference appliance in a throwaway home: median time from the start
// command to all-healthy for golden resume with rotation, without, the saved session and cold boot,
// and of stops with a session save and with an ACPI power-down, each with the split; checkpoint save,
// restore and a suite of 20 restores, and 1, 2 and 4 named instances started at once from one
// template with their QEMUs' memory (first format only).
// For each snapshot format (BENCH_FORMATS, default template-ram,mapped-ram), with QEMU's RSS and PSS
// after each start. Results: tmp/bench/emulator-lifecycle-<format>-<first scenario>.json. Runs:
// BENCH_RUNS (default 5; cold boots and ACPI stops: 3).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { testEmulatorEnv } from '../../../tools/testing/ports.js';

const root = resolve(import.meta.dirname, '..', '..', '..');
const home = mkdtempSync(join(tmpdir(), 'emu-bench-'));
const env = { ...process.env, ...testEmulatorEnv(home) };
const runs = process.env.BENCH_RUNS ?? '5';
const bin = join(import.meta.dirname, '..', 'dist', 'cli.js'); // the published bin (bundled)
const out = join(root, 'tmp', 'bench', 'emulator-lifecycle.json');
// Each snapshot format the probe can choose, one after the other (both captures stay in the cache,
// keyed by format); BENCH_FORMATS narrows it. The formats do not change a cold boot or an ACPI stop.
const formats = (process.env.BENCH_FORMATS ?? 'template-ram,mapped-ram').split(',');
const plan = formats.flatMap((format, i) => [
  { format, scenarios: 'resume-rotation,resume', n: runs },
  { format, scenarios: 'session-resume,stop-with-save', n: runs },
  ...(i === 0
    ? [
        { format, scenarios: 'stop-acpi', n: String(Math.min(3, Number(runs))) },
        { format, scenarios: 'cold', n: String(Math.min(3, Number(runs))) },
        { format, scenarios: 'checkpoint-save,checkpoint-restore,checkpoint-suite', n: runs },
        // Named instances at once (1, 2, 4) from one template, with their memory.
        { format, scenarios: 'instances', n: runs },
      ]
    : []),
]);
try {
  for (const { format, scenarios, n } of plan) {
    const r = spawnSync(
      process.execPath,
      [
        bin,
        'bench',
        '--image',
        'reference',
        '--runs',
        n,
        '--scenarios',
        scenarios,
        '--output',
        out.replace('.json', `-${format}-${scenarios.split(',')[0]}.json`),
      ],
      { env: { ...env, EMULATOR_SNAPSHOT_FORMAT: format }, stdio: 'inherit' },
    );
    if (r.status !== 0) process.exitCode = r.status ?? 1;
  }
} finally {
  spawnSync(process.execPath, [bin, 'stop', '--all', '--timeout', '5'], { env, stdio: 'ignore' });
  rmSync(home, { recursive: true, force: true });
}
