import type { InstancesRuns } from './bench-instances.js';
import { type InstancesMemory, summarizeInstancesMemory } from './instances-memory.js';
import { median } from './median.js';

/** What an instances scenario adds to its result (its `medianMs` is the wall clock until all are healthy). */
export interface InstancesResult {
  /** Instances started at once (bench-1 to bench-N). */
  count: number;
  /** Each start's own time, from its call to all-healthy (ms). */
  startMs: {
    /** Median over every start of every run. */
    median: number;
    /** Median over runs of the slowest start of the run. */
    slowest: number;
    /** Per run, each instance's (bench-1 first). */
    all: number[][];
  };
  /** The golden snapshots the measured starts resumed: one when they all shared a template. */
  snapshotIds: string[];
  /** The QEMUs' memory while all of them ran. */
  memory: InstancesMemory;
}

/** The medians of an instances scenario's runs; `alonePssKiB` (one instance alone) gives the memory ratio. */
export function instancesResult(count: number, runs: InstancesRuns, alonePssKiB?: number): InstancesResult {
  let memory = summarizeInstancesMemory(runs.memory, alonePssKiB);
  // One instance is its own baseline (ratio 1).
  if (count === 1 && alonePssKiB === undefined && memory.kind === 'measured')
    memory = summarizeInstancesMemory(runs.memory, memory.total.pssKiB);
  return {
    count,
    startMs: {
      median: median(runs.startMs.flat()),
      slowest: median(runs.startMs.map((run) => Math.max(...run))),
      all: runs.startMs,
    },
    snapshotIds: runs.snapshotIds,
    memory,
  };
}

/** The PSS of one instance alone, from the `instances-1` result, when it was measured. */
export const alonePss = (r: InstancesResult): number | undefined =>
  r.count === 1 && r.memory.kind === 'measured' ? r.memory.total.pssKiB : undefined;
