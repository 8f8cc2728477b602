import { allDone } from '@stack/internal';
import type { EmulatorConfig } from '../config/resolve-config.js';
import type { Op } from '../context/op.js';
import { startEmulator, type StartResult } from '../boot/start.js';
import { realMemoryReaders } from '../host/host-memory.js';
import type { Timings } from '../instance/state.js';
import { stopEmulator } from '../instance/stop.js';
import { silentReporter } from '../report/reporter.js';
import { readSmapsRollup, type RollupReading } from './smaps-rollup.js';

/** What the instances scenarios do to the world; tests pass fakes (no VM). */
export interface InstancesDeps {
  /** The operation of instance `name`: its own lock, run directory and session, free host ports (`--ports auto`). */
  instanceOp: (name: string) => Op;
  /** Starts an instance. @default startEmulator */
  start?: (op: Op) => Promise<StartResult>;
  /** Stops an instance, without a save (the starts are ephemeral). @default stopEmulator, no grace */
  stop?: (op: Op) => Promise<unknown>;
  /** A file's text, undefined when unreadable (/proc/<pid>/smaps_rollup). @default fs.readFileSync */
  readText?: (path: string) => string | undefined;
}

/** The measured runs of one instance count. */
export interface InstancesRuns {
  /** Per run: ms from the moment every start was called to the last one healthy. */
  wallMs: number[];
  /** Per run: each instance's own start (bench-1 first), from its call to all-healthy. */
  startMs: number[][];
  /** Every start's split, all runs. */
  splits: Timings[];
  /** Per run: each QEMU's smaps_rollup, read while all of them ran. */
  memory: RollupReading[][];
  accel: string;
  boot: string;
  format: string | undefined;
  /** The golden snapshots the starts resumed: one when they all shared a template. */
  snapshotIds: string[];
}

/** The instances a scenario starts: bench-1 to bench-N. */
const benchInstanceNames = (count: number) => Array.from({ length: count }, (_, i) => `bench-${i + 1}`);

/** Each start resumes the golden snapshot with fresh secrets, on a fresh disk, saving nothing at stop. */
function benchOp(op: Op): Op {
  const config: EmulatorConfig = Object.freeze({
    ...op.config,
    snapshot: true,
    rotation: true,
    ephemeral: true,
    forceCapture: false,
    forceRotate: false,
  });
  return { ...op, config, reporter: silentReporter };
}

/** `work`, then `cleanup` however it ended; a failed cleanup is thrown only when the work succeeded. */
async function thenCleanup<T>(work: () => Promise<T>, cleanup: () => Promise<unknown>): Promise<T> {
  let result: T;
  try {
    result = await work();
  } catch (e) {
    await cleanup().catch(() => {});
    throw e;
  }
  await cleanup();
  return result;
}

/**
 * The warm-up: bench-1 to bench-N started one after another and stopped. The first captures the
 * golden snapshot when there is none; an image that cannot be told its host ports at settle captures
 * one per port set here, so no measured start captures. Their ports are chosen here and kept.
 */
export async function warmInstances(count: number, deps: InstancesDeps): Promise<void> {
  const start = deps.start ?? ((o: Op) => startEmulator(o));
  const stop = deps.stop ?? ((o: Op) => stopEmulator(o, { timeoutMs: 0 }));
  for (const name of benchInstanceNames(count)) {
    const op = benchOp(deps.instanceOp(name));
    await thenCleanup(
      () => start(op),
      () => stop(op),
    );
  }
}

/**
 * `runs` times: `count` instances started at once, their QEMUs' memory read once all are healthy,
 * then all stopped. A start that did not resume, captured, or found its instance running fails the
 * bench: its time would not be the one measured. Whatever started is stopped however a run ends.
 */
export async function runInstancesScenario(
  count: number,
  runs: number,
  deps: InstancesDeps,
  onRun: (i: number, ms: number) => void,
): Promise<InstancesRuns> {
  const start = deps.start ?? ((o: Op) => startEmulator(o));
  const stop = deps.stop ?? ((o: Op) => stopEmulator(o, { timeoutMs: 0 }));
  const readText = deps.readText ?? realMemoryReaders.readText;
  const ops = benchInstanceNames(count).map((name) => benchOp(deps.instanceOp(name)));
  const { clock } = ops[0]!.seams;
  const platform = ops[0]!.config.host.platform;
  const out: InstancesRuns = {
    wallMs: [],
    startMs: [],
    splits: [],
    memory: [],
    accel: '',
    boot: '',
    format: undefined,
    snapshotIds: [],
  };
  const ids = new Set<string>();
  for (let i = 0; i < runs; i++) {
    const t0 = clock.now();
    await thenCleanup(
      async () => {
        const started = await allDone(ops.map((op) => start(op)));
        const wall = clock.now() - t0;
        for (const [k, { alreadyRunning, state }] of started.entries()) {
          const who = `bench instances-${count}: ${ops[k]!.config.instance}`;
          if (alreadyRunning) throw new Error(`${who} was already running: stop it first`);
          if (state.mode !== 'resumed') throw new Error(`${who} ran ${state.mode} (${state.coldReason ?? ''})`);
          if (state.timings.captured !== undefined) throw new Error(`${who} captured a snapshot in a measured run`);
          if (state.snapshotId) ids.add(state.snapshotId);
          out.accel = state.accel;
          out.boot = state.boot ?? 'firmware';
          out.format = state.snapshotFormat;
        }
        out.memory.push(started.map(({ state }) => readSmapsRollup(state.pid, platform, readText)));
        out.startMs.push(started.map(({ state }) => state.timings.healthy!));
        out.splits.push(...started.map(({ state }) => state.timings));
        out.wallMs.push(wall);
      },
      () => allDone(ops.map((op) => stop(op))),
    );
    onRun(i, out.wallMs.at(-1)!);
  }
  out.snapshotIds = [...ids];
  return out;
}
