import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

// tools/test-summary.mjs: the last line CI reads, and the failures named above it (a CI log is often
// shown from its tail only, so the names must be there, not only in the runner's output far above).
const script = resolve(import.meta.dirname, '..', '..', '..', 'test-summary.mjs');
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function summarise(reports: Record<string, object>): { status: number; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'summary-'));
  dirs.push(dir);
  for (const [name, report] of Object.entries(reports))
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(report));
  try {
    return { status: 0, out: execFileSync(process.execPath, [script, dir], { encoding: 'utf8' }) };
  } catch (e) {
    const err = e as { status: number; stdout: string };
    return { status: err.status, out: err.stdout };
  }
}

const ok = (file: string, n: number) => ({
  name: `/x/repo/packages/${file}`,
  status: 'passed',
  assertionResults: Array.from({ length: n }, (_, i) => ({ status: 'passed', title: `t${i}`, fullName: `t${i}` })),
});

describe('test-summary', () => {
  it('adds up every report and exits 0 when all passed', () => {
    const r = summarise({
      'a-unit': { numPassedTests: 3, numFailedTests: 0, testResults: [ok('a/src/x.test.ts', 3)], exitStatus: 0 },
      'b-e2e': { numPassedTests: 2, numFailedTests: 0, numPendingTests: 1, testResults: [], exitStatus: 0 },
    });
    expect(r).toEqual({ status: 0, out: 'tests: 5 passed, 0 failed, 1 skipped\n' });
  });

  it('names each failed test with its tier, file and first message line, before the count', () => {
    const r = summarise({
      'cli-integration': {
        numPassedTests: 1,
        numFailedTests: 1,
        exitStatus: 1,
        testResults: [
          {
            name: '/check/repo/packages/cli/test/integration/ports.test.ts',
            status: 'failed',
            assertionResults: [
              { status: 'passed', fullName: 'ports a' },
              {
                status: 'failed',
                fullName: 'ports > b',
                failureMessages: ['AssertionError: expected 1 to be 2\n at …'],
              },
            ],
          },
        ],
      },
    });
    expect(r.status).toBe(1);
    expect(r.out.trim().split('\n')).toEqual([
      'test-summary: failed: cli-integration packages/cli/test/integration/ports.test.ts > ports > b: AssertionError: expected 1 to be 2',
      'tests: 1 passed, 1 failed, 0 skipped',
    ]);
  });

  it('counts a file that broke outside any test, and a runner that exited non-zero without a failure', () => {
    const r = summarise({
      'a-unit': {
        numPassedTests: 0,
        numFailedTests: 0,
        exitStatus: 1,
        testResults: [
          {
            name: '/r/tools/x/e2e/y.test.ts',
            status: 'failed',
            message: 'beforeAll hook timed out\nstack',
            assertionResults: [],
          },
        ],
      },
      'b-unit': { numPassedTests: 4, numFailedTests: 0, exitStatus: 1, testResults: [] },
    });
    expect(r.status).toBe(1);
    expect(r.out).toContain(
      'test-summary: failed: a-unit tools/x/e2e/y.test.ts (outside any test: beforeAll hook timed out)',
    );
    expect(r.out).toContain('test-summary: b-unit exited 1 without a failed test');
    expect(r.out.trim().split('\n').at(-1)).toBe('tests: 4 passed, 2 failed, 0 skipped');
  });
});
