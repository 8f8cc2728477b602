// Named instances started at once from one template (issue 30): `stack-emulator bench --scenarios
// instances` on the reference appliance in a throwaway home, that is instances-1, instances-2 and
// instances-4: bench-1..N started together on free ports (each resuming the shared golden snapshot,
// ephemeral, fresh secrets), the wall clock until all are healthy and each start's own, and while all
// run each QEMU's /proc/<pid>/smaps_rollup: PSS with its shared and private parts, summed, and the
// sum against one instance alone (instances-1). Runs: BENCH_RUNS (default 5). Snapshot format:
// BENCH_FORMAT (default template-ram: the RAM file every QEMU maps privately, its pages shared
// through the page cache). Results: tmp/bench/emulator-instances.json.
// Run: npm run bench-instances (or npx nx run emulator-cli:bench-instances), after a build.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { testEmulatorEnv } from '../../../tools/testing/ports.js';

const root = resolve(import.meta.dirname, '..', '..', '..');
const home = mkdtempSync(join(tmpdir(), 'emu-bench-inst-'));
// The home's default instance keeps the test ports; the bench's named instances choose free ones.
const env = {
  ...process.env,
  ...testEmulatorEnv(home),
  STACK_EMULATOR_INSTANCE: '',
  EMULATOR_SNAPSHOT_FORMAT: process.env.BENCH_FORMAT ?? 'template-ram',
};
const runs = process.env.BENCH_RUNS ?? '5';
const bin = join(import.meta.dirname, '..', 'dist', 'cli.js'); // the published bin (bundled)
const out = join(root, 'tmp', 'bench', 'emulator-instances.json');
mkdirSync(join(root, 'tmp', 'bench'), { recursive: true });
try {
  const r = spawnSync(
    process.execPath,
    [bin, 'bench', '--image', 'reference', '--runs', runs, '--scenarios', 'instances', '--output', out],
    { env, stdio: 'inherit' },
  );
  if (r.status !== 0) process.exitCode = r.status ?? 1;
  else process.stdout.write(`${out}\n`);
} finally {
  spawnSync(process.execPath, [bin, 'stop', '--all', '--timeout', '5'], { env, stdio: 'ignore' });
  rmSync(home, { recursive: true, force: true });
}
