#!/usr/bin/env node
// Runs one test tier of the package in the current directory with vitest, writing a JSON report to
// <root>/tmp/test-results/<package>-<tier>.json so tools/test-summary.mjs can add up every runner.
// Usage (from a package's scripts): node ../../tools/run-tier.mjs unit|integration|e2e [vitest args...]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const tiers = {
  unit: { dir: 'src/', testTimeout: 20_000, extra: [] },
  // Integration and e2e tests start real QEMU, qemu-ga, ISO tools and servers: generous per-test limits
  // (a slow machine must never fail a test) and one file at a time so two VMs never fight for 2 cores.
  integration: { dir: 'test/integration/', testTimeout: 300_000, extra: ['--maxWorkers=2'] },
  e2e: { dir: 'e2e/', testTimeout: 1_200_000, extra: ['--no-file-parallelism'] },
  // Fault injection (kill -9, SIGINT, full disks, races) through the built CLI on real VMs.
  faults: { dir: 'faults/', testTimeout: 1_200_000, extra: ['--no-file-parallelism'] },
  // Long runs of one fault (not in tools/test): e.g. 20 kill -9/cold-boot cycles in a row.
  soak: { dir: 'soak/', testTimeout: 36_000_000, extra: ['--no-file-parallelism'] },
};

const [tier, ...rest] = process.argv.slice(2);
const spec = tiers[tier];
if (!spec) {
  console.error(`run-tier: unknown tier "${tier}"; use one of ${Object.keys(tiers).join(', ')}`);
  process.exit(2);
}
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = process.cwd();
const name = basename(pkgDir);
const reportDir = join(root, 'tmp', 'test-results');
mkdirSync(reportDir, { recursive: true });
const report = join(reportDir, `${name}-${tier}.json`);

const require = createRequire(join(root, 'package.json'));
const vitestBin = join(dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const args = [
  vitestBin,
  'run',
  spec.dir,
  '--root',
  pkgDir,
  '--passWithNoTests',
  `--testTimeout=${spec.testTimeout}`,
  `--hookTimeout=${spec.testTimeout}`,
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...spec.extra,
  ...rest,
];
const run = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, STACK_TEST_TIER: tier } });
let parsed;
try {
  parsed = JSON.parse(readFileSync(report, 'utf8'));
} catch {
  console.error(`run-tier: vitest wrote no readable report at ${report}`);
  process.exit(run.status || 1);
}
// Vitest fails a run with unhandled errors (an exception thrown outside any test) but its JSON report
// still says success: record the exit status so tools/test-summary.mjs counts it as a failure.
parsed.exitStatus = run.status ?? 1;
writeFileSync(report, JSON.stringify(parsed));
process.exit(run.status ?? 1);
