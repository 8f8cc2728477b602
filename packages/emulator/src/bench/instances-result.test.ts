import { describe, expect, it } from 'vitest';
import type { InstancesRuns } from './bench-instances.js';
import { alonePss, instancesResult } from './instances-result.js';
import type { RollupReading } from './smaps-rollup.js';

const reading = (pssKiB: number): RollupReading => ({
  kind: 'ok',
  rollup: {
    rssKiB: pssKiB * 2,
    pssKiB,
    pssAnonKiB: pssKiB / 2,
    pssFileKiB: pssKiB / 2,
    pssShmemKiB: 0,
    sharedCleanKiB: pssKiB,
    sharedDirtyKiB: 0,
    privateCleanKiB: 0,
    privateDirtyKiB: pssKiB / 2,
  },
});

const runs = (startMs: number[][], memory: RollupReading[][]): InstancesRuns => ({
  wallMs: startMs.map((r) => Math.max(...r) + 10),
  startMs,
  splits: [],
  memory,
  accel: 'tcg',
  boot: 'direct-kernel',
  format: 'template-ram',
  snapshotIds: ['s1'],
});

describe('instancesResult', () => {
  it("gives each start's median and the median of each run's slowest start", () => {
    const r = instancesResult(
      2,
      runs(
        [
          [1000, 1400],
          [900, 2000],
          [1100, 1500],
        ],
        [],
      ),
    );
    expect(r.startMs).toEqual({
      median: 1250,
      slowest: 1500,
      all: [
        [1000, 1400],
        [900, 2000],
        [1100, 1500],
      ],
    });
    expect(r).toMatchObject({ count: 2, snapshotIds: ['s1'], memory: { kind: 'unsupported' } });
  });

  it('one instance is its own baseline (ratio 1), and is the baseline of the others', () => {
    const one = instancesResult(1, runs([[800], [900]], [[reading(1000)], [reading(1200)]]));
    expect(one.memory).toMatchObject({ kind: 'measured', alonePssKiB: 1100, pssRatioToAlone: 1 });
    expect(alonePss(one)).toBe(1100);
    const four = instancesResult(
      4,
      runs([[1, 2, 3, 4]], [[reading(500), reading(500), reading(600), reading(600)]]),
      1100,
    );
    expect(four.memory).toMatchObject({ kind: 'measured', total: { pssKiB: 2200 }, pssRatioToAlone: 2 });
    expect(alonePss(four)).toBeUndefined();
  });
});
