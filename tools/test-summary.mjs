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
  const broken = (r.testResults ?? []).filter((t) => t.status === 'failed' && (t.assertionResults ?? []).every((a) => a.status !== 'failed'));
  brokenSuites += broken.length;
}
if (brokenSuites > 0) console.log(`test-summary: ${brokenSuites} test file(s) failed outside any test`);
console.log(`tests: ${passed} passed, ${failed + brokenSuites} failed, ${skipped} skipped`);
process.exit(failed + brokenSuites > 0 ? 1 : 0);
