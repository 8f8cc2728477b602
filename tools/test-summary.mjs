#!/usr/bin/env node
// Adds up every vitest JSON report under tmp/test-results and prints the one line CI reads:
// "tests: N passed, N failed, N skipped". Exits 1 when any test failed or any suite broke.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'tmp', 'test-results');
let passed = 0;
let failed = 0;
let skipped = 0;
let brokenSuites = 0;
let failedRuns = 0;
let files = [];
try {
  files = readdirSync(dir).filter((f) => f.endsWith('.json'));
} catch {}
for (const file of files) {
  const r = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A file that failed to load (syntax error, failing beforeAll) has no failed tests but is a failure.
  const broken = (r.testResults ?? []).filter(
    (t) => t.status === 'failed' && (t.assertionResults ?? []).every((a) => a.status !== 'failed'),
  );
  brokenSuites += broken.length;
  // A runner that exited non-zero with no failed test or broken file had unhandled errors.
  if ((r.exitStatus ?? 0) !== 0 && (r.numFailedTests ?? 0) === 0 && broken.length === 0) {
    console.log(
      `test-summary: ${file.replace(/\.json$/, '')} exited ${r.exitStatus} without a failed test (unhandled errors: see its output)`,
    );
    failedRuns++;
  }
}
if (brokenSuites > 0) console.log(`test-summary: ${brokenSuites} test file(s) failed outside any test`);
const failures = failed + brokenSuites + failedRuns;
console.log(`tests: ${passed} passed, ${failures} failed, ${skipped} skipped`);
process.exit(failures > 0 ? 1 : 0);
