import { describe, expect, it } from 'vitest';
import { memoryFigures, summarizeInstancesMemory } from './instances-memory.js';
import type { RollupReading, SmapsRollup } from './smaps-rollup.js';

const MiB = 1024;

/**
 * One QEMU resumed from a template shared by `sharers`: `template` MiB of the template's RAM file
 * read (clean file pages in the page cache, shared) and `own` MiB written (private anonymous pages).
 */
function qemu(template: number, own: number, sharers: number): SmapsRollup {
  const shared = sharers > 1;
  return {
    rssKiB: (template + own) * MiB,
    pssKiB: (template / sharers + own) * MiB,
    pssAnonKiB: own * MiB,
    pssFileKiB: (template / sharers) * MiB,
    pssShmemKiB: 0,
    sharedCleanKiB: shared ? template * MiB : 0,
    sharedDirtyKiB: 0,
    privateCleanKiB: shared ? 0 : template * MiB,
    privateDirtyKiB: own * MiB,
  };
}
const ok = (rollup: SmapsRollup): RollupReading => ({ kind: 'ok', rollup });
const run = (n: number, template: number, own: number) => Array.from({ length: n }, () => ok(qemu(template, own, n)));

describe('memoryFigures', () => {
  it('splits the PSS into the shared pages part and the private pages', () => {
    expect(memoryFigures(qemu(400, 200, 4))).toMatchObject({
      pssKiB: 300 * MiB,
      sharedPssKiB: 100 * MiB,
      privateKiB: 200 * MiB,
    });
    // Alone, the template's pages are its own: all of the PSS is private.
    expect(memoryFigures(qemu(400, 200, 1))).toMatchObject({
      pssKiB: 600 * MiB,
      sharedPssKiB: 0,
      privateKiB: 600 * MiB,
    });
  });
});

describe('summarizeInstancesMemory', () => {
  it('sums the instances: a template page shared by all counts once in the PSS, not in the RSS', () => {
    const m = summarizeInstancesMemory([run(4, 400, 200), run(4, 400, 200)], 600 * MiB);
    expect(m).toMatchObject({
      kind: 'measured',
      runs: 2,
      total: {
        pssKiB: 1200 * MiB,
        sharedPssKiB: 400 * MiB,
        privateKiB: 800 * MiB,
        rssKiB: 2400 * MiB,
        pssFileKiB: 400 * MiB,
        pssAnonKiB: 800 * MiB,
        sharedCleanKiB: 1600 * MiB,
      },
      alonePssKiB: 600 * MiB,
      pssRatioToAlone: 2,
    });
    if (m.kind !== 'measured') throw new Error('unreachable');
    expect(m.perInstance).toHaveLength(4);
    expect(m.perInstance[3]).toMatchObject({ pssKiB: 300 * MiB, sharedPssKiB: 100 * MiB, privateKiB: 200 * MiB });
  });

  it('takes the median over runs, so one slow run does not move it', () => {
    const m = summarizeInstancesMemory([run(2, 400, 100), run(2, 400, 5000), run(2, 400, 200)], 500 * MiB);
    // Per-run sums of PSS: 600, 10400, 800 MiB.
    expect(m).toMatchObject({ kind: 'measured', runs: 3, total: { pssKiB: 800 * MiB }, pssRatioToAlone: 1.6 });
  });

  it('leaves out a run where a QEMU could not be read, and has no ratio without the baseline', () => {
    const gone: RollupReading = { kind: 'unsupported', reason: '/proc/9/smaps_rollup could not be read' };
    const m = summarizeInstancesMemory([[ok(qemu(400, 200, 2)), gone], run(2, 400, 100)]);
    expect(m).toMatchObject({ kind: 'measured', runs: 1, total: { pssKiB: 600 * MiB }, pssRatioToAlone: undefined });
  });

  it('keeps a field the kernel does not write undefined instead of summing it as 0', () => {
    const old = { ...qemu(400, 200, 2), pssAnonKiB: undefined, pssFileKiB: undefined, pssShmemKiB: undefined };
    const m = summarizeInstancesMemory([[ok(old), ok(old)]]);
    expect(m).toMatchObject({ kind: 'measured', total: { pssKiB: 800 * MiB, pssAnonKiB: undefined } });
  });

  it('is unsupported, with the reason, when no run could be read (another platform)', () => {
    const reason = "PSS and its shared/private parts come from Linux's /proc/<pid>/smaps_rollup; this host is darwin";
    const no: RollupReading = { kind: 'unsupported', reason };
    expect(
      summarizeInstancesMemory([
        [no, no],
        [no, no],
      ]),
    ).toEqual({ kind: 'unsupported', reason });
    expect(summarizeInstancesMemory([])).toEqual({ kind: 'unsupported', reason: 'no run was measured' });
  });
});
