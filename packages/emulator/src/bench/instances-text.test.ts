import { describe, expect, it } from 'vitest';
import type { MemoryFigures } from './instances-memory.js';
import type { InstancesResult } from './instances-result.js';
import { formatInstances } from './instances-text.js';

const MiB = 1024;
const figures = (pss: number, shared: number, rss: number): MemoryFigures => ({
  rssKiB: rss * MiB,
  pssKiB: pss * MiB,
  pssAnonKiB: (pss - shared) * MiB,
  pssFileKiB: shared * MiB,
  pssShmemKiB: 0,
  sharedCleanKiB: rss * MiB - (pss - shared) * MiB,
  sharedDirtyKiB: 0,
  privateCleanKiB: 0,
  privateDirtyKiB: (pss - shared) * MiB,
  sharedPssKiB: shared * MiB,
  privateKiB: (pss - shared) * MiB,
});

const result = (memory: InstancesResult['memory']): InstancesResult => ({
  count: 4,
  startMs: { median: 1900, slowest: 2050, all: [] },
  snapshotIds: ['t1'],
  memory,
});

describe('formatInstances', () => {
  it("prints each start's time, the snapshots resumed, the summed memory split and the ratio to one alone", () => {
    const text = formatInstances(
      result({
        kind: 'measured',
        runs: 5,
        perInstance: [],
        total: figures(1200, 400, 2400),
        alonePssKiB: 600 * MiB,
        pssRatioToAlone: 2,
      }),
    );
    expect(text).toBe(
      '  each start: median 1.90 s, slowest 2.05 s; 1 snapshot resumed\n' +
        '  memory of 4 QEMUs: PSS 1200 MiB = shared 400 MiB + private 800 MiB (RSS 2400 MiB); 2.00× one alone (600 MiB)\n',
    );
  });

  it('says why the memory is not measured', () => {
    expect(formatInstances(result({ kind: 'unsupported', reason: 'this host is darwin' }))).toContain(
      '  memory: unsupported (this host is darwin)\n',
    );
  });
});
