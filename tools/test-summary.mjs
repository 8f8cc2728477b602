#!/usr/bin/env node
// Adds up every vitest JSON report under tmp/test-results and prints the one line CI reads:
// "tests: N passed, N failed, N skipped", after one line naming each failure. Exits 1 when any test
// failed or any suite broke. Usage: node tools/test-summary.mjs [reports dir, default tmp/test-results]
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.argv[2] ?? join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'tmp', 'test-results');
let passed = 0;
let failed = 0;
let skipped = 0;
let brokenSuites = 0;
let failedRuns = 0;
// The fault suite's tier: each of its tests injects one fault (packages/emulator-cli/faults).
let faultsRun = 0;
let faultsPassed = 0;
const failedNames = [];
let files = [];
try {
  files = readdirSync(dir).filter((f) => f.endsWith('.json'));
} catch {}
for (const file of files) {
  const r = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  passed += r.numPassedTests ?? 0;
  if (file.endsWith('-faults.json')) {
    faultsRun += (r.numPassedTests ?? 0) + (r.numFailedTests ?? 0);
    faultsPassed += r.numPassedTests ?? 0;
  }
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A file that failed to load (syntax error, failing beforeAll) has no failed tests but is a failure.
  const broken = (r.testResults ?? []).filter(
    (t) => t.status === 'failed' && (t.assertionResults ?? []).every((a) => a.status !== 'failed'),
  );
  brokenSuites += broken.length;
  const tierRun = file.replace(/\.json$/, '');
  // Name each failure here, next to the count: a CI log is often read from its tail only.
  for (const t of r.testResults ?? []) {
    const where = `${tierRun} ${relativeName(t.name)}`;
    for (const a of t.assertionResults ?? []) {
      if (a.status === 'failed')
        failedNames.push(`${where} > ${a.fullName ?? a.title}: ${firstLine(a.failureMessages?.[0])}`);
    }
    if (broken.includes(t)) failedNames.push(`${where} (outside any test: ${firstLine(t.message)})`);
  }
  // A runner that exited non-zero with no failed test or broken file had unhandled errors.
  if ((r.exitStatus ?? 0) !== 0 && (r.numFailedTests ?? 0) === 0 && broken.length === 0) {
    console.log(
      `test-summary: ${file.replace(/\.json$/, '')} exited ${r.exitStatus} without a failed test (unhandled errors: see its output)`,
    );
    failedRuns++;
  }
}
for (const name of failedNames) console.log(`test-summary: failed: ${name}`);
if (brokenSuites > 0) console.log(`test-summary: ${brokenSuites} test file(s) failed outside any test`);
if (faultsRun > 0) console.log(`faults: ${faultsRun} injected, ${faultsPassed} passed`);
const failures = failed + brokenSuites + failedRuns;
console.log(`tests: ${passed} passed, ${failures} failed, ${skipped} skipped`);
process.exit(failures > 0 ? 1 : 0);

function relativeName(path) {
  const at = path.indexOf('/packages/');
  const tools = path.indexOf('/tools/');
  return at >= 0 ? path.slice(at + 1) : tools >= 0 ? path.slice(tools + 1) : path;
}

function firstLine(text) {
  return String(text ?? 'no message')
    .split('\n')[0]
    .slice(0, 200);
}
