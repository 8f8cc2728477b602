import { median } from './median.js';
import type { RollupReading, SmapsRollup } from './smaps-rollup.js';

/** The memory of one QEMU, or the sum of several, in KiB: its rollup and what of it is shared. */
export interface MemoryFigures extends SmapsRollup {
  /**
   * The shared pages' part of the PSS: PSS less the private pages (which PSS counts whole). Summed
   * over the instances, a template page they all map counts once.
   */
  sharedPssKiB: number;
  /** Pages only this process maps (Private_Clean + Private_Dirty): what each instance adds. */
  privateKiB: number;
}

/** The memory of N instances running at once, over a scenario's runs. */
export type InstancesMemory =
  | {
      kind: 'measured';
      /** Runs whose every QEMU was read: the medians are over these. */
      runs: number;
      /** Each instance's figures (bench-1 first), each the median over runs. */
      perInstance: MemoryFigures[];
      /** The figures summed over the instances, each the median over runs: `pssKiB` counts a shared page once. */
      total: MemoryFigures;
      /** The PSS of one instance running alone (the `instances-1` scenario's total), when it was measured. */
      alonePssKiB: number | undefined;
      /** `total.pssKiB / alonePssKiB`: 1 for one instance, N if the instances shared nothing. */
      pssRatioToAlone: number | undefined;
    }
  | { kind: 'unsupported'; reason: string };

type Key = keyof MemoryFigures;
const KEYS: readonly Key[] = [
  'rssKiB',
  'pssKiB',
  'pssAnonKiB',
  'pssFileKiB',
  'pssShmemKiB',
  'sharedCleanKiB',
  'sharedDirtyKiB',
  'privateCleanKiB',
  'privateDirtyKiB',
  'sharedPssKiB',
  'privateKiB',
];

/** A rollup with its shared and private parts. */
export function memoryFigures(r: SmapsRollup): MemoryFigures {
  const privateKiB = r.privateCleanKiB + r.privateDirtyKiB;
  return { ...r, sharedPssKiB: r.pssKiB - privateKiB, privateKiB };
}

/** Each field combined over `list` by `f`; a field some kernel left out (undefined) stays undefined. */
function fieldwise(list: readonly MemoryFigures[], f: (xs: number[]) => number): MemoryFigures {
  const out: Partial<Record<Key, number | undefined>> = {};
  for (const k of KEYS) {
    const xs = list.map((m) => m[k]);
    out[k] = xs.every((x): x is number => x !== undefined) ? f(xs) : undefined;
  }
  return out as MemoryFigures;
}

/** The figures summed over processes. */
const sumFigures = (list: readonly MemoryFigures[]) => fieldwise(list, (xs) => xs.reduce((a, b) => a + b, 0));

/** Each figure's median over runs (taken field by field). */
const medianFigures = (list: readonly MemoryFigures[]) => fieldwise(list, median);

/**
 * The memory part of an instances scenario: `readings[run][instance]`. A run with an instance that
 * could not be read is left out; when no run is whole (another platform, /proc unreadable), the
 * first reason is the result. `alonePssKiB`, the PSS of one instance alone, gives the ratio.
 */
export function summarizeInstancesMemory(readings: RollupReading[][], alonePssKiB?: number): InstancesMemory {
  const whole = readings.filter((run) => run.length > 0 && run.every((r) => r.kind === 'ok'));
  if (whole.length === 0) {
    const why = readings.flat().find((r) => r.kind === 'unsupported');
    return { kind: 'unsupported', reason: why?.reason ?? 'no run was measured' };
  }
  const runs = whole.map((run) => run.map((r) => memoryFigures((r as Extract<RollupReading, { kind: 'ok' }>).rollup)));
  const count = runs[0]!.length;
  const perInstance = Array.from({ length: count }, (_, i) => medianFigures(runs.map((run) => run[i]!)));
  const total = medianFigures(runs.map(sumFigures));
  return {
    kind: 'measured',
    runs: whole.length,
    perInstance,
    total,
    alonePssKiB,
    pssRatioToAlone: alonePssKiB ? Math.round((total.pssKiB / alonePssKiB) * 1000) / 1000 : undefined,
  };
}
