/**
 * @stack/emulator: the emulator runtime as a library. Each operation loads its code on first use, so
 * a program (the CLI) that calls one of them pays only for that one.
 */
import type { Emulator, StartOptions } from './api/start.js';
import type { StopAllItem, StopOptions } from './api/instance-ops.js';
import type { InstanceSummary } from './instance/instances.js';
import type { BenchOptions, PullOptions, ReleaseSummary } from './api/home-ops.js';
import type { CommonOptions, StartFlagsOptions } from './api/options.js';
import type { LogOptions, FollowLogOptions } from './api/logs.js';
import type { StatusReport } from './instance/status.js';
import type { StopResult } from './instance/stop.js';
import type { ResetResult } from './instance/reset.js';
import type { PruneItem, PruneResult } from './instance/prune.js';
import type { Credentials } from './instance/credentials.js';
import type { GuestCommand } from './guest/guest-command.js';
import type { ExecResult } from '@stack/qga-protocol';
import type { PullResult } from './image/pull.js';
import type { DoctorReport } from './host/doctor.js';
import type { ScenarioResult } from './bench/bench.js';
import type { InstancesResult } from './bench/instances-result.js';
import type { InstancesMemory, MemoryFigures } from './bench/instances-memory.js';
import type { SetupOptions } from './api/setup.js';
import type { SetupIo, SetupOutcome } from './setup/setup-flow.js';
import type { MissingTool, SetupPlan } from './setup/setup-plan.js';
import type { CheckpointInfo } from './checkpoint/checkpoints.js';
import type { SaveCheckpointOptions, SaveCheckpointResult } from './checkpoint/save.js';

export { EmulatorError, isEmulatorError, describeError, type EmulatorErrorCode } from './errors.js';
export { silentReporter, type Reporter, type ReporterStep } from './report/reporter.js';
export { SCENARIOS, type Scenario } from './bench/bench-scenarios.js';
export { benchReport, formatBenchReport, type BenchReport } from './bench/bench-report.js';
export type {
  BenchOptions,
  CheckpointInfo,
  CommonOptions,
  Credentials,
  DoctorReport,
  Emulator,
  ExecResult,
  GuestCommand,
  FollowLogOptions,
  InstancesMemory,
  InstancesResult,
  MemoryFigures,
  LogOptions,
  PruneItem,
  PruneResult,
  PullOptions,
  PullResult,
  ReleaseSummary,
  ResetResult,
  SaveCheckpointOptions,
  SaveCheckpointResult,
  ScenarioResult,
  SetupIo,
  SetupOptions,
  SetupOutcome,
  SetupPlan,
  MissingTool,
  StartFlagsOptions,
  StartOptions,
  StatusReport,
  StopAllItem,
  StopOptions,
  StopResult,
  InstanceSummary,
};
export type { InstanceState, Timings } from './instance/state.js';
export { formatTimings } from './instance/timings-text.js';
export type { LogSource } from './instance/logs.js';

/** Starts the emulator (or finds it running) and returns a handle: URLs, credentials, exec, stop. */
export const start = async (options?: StartOptions): Promise<Emulator> =>
  (await import('./api/start.js')).start(options);
/** Stops the emulator, saving its session. */
export const stop = async (options?: StopOptions): Promise<StopResult> =>
  (await import('./api/instance-ops.js')).stop(options);
/**
 * Every instance of the home (`default` first, then those under instances/): its state, start mode,
 * ports and how they are chosen, QEMU's pid, uptime and memory (RSS; PSS on Linux), its session's size.
 */
export const list = async (options?: CommonOptions): Promise<InstanceSummary[]> =>
  (await import('./api/instance-ops.js')).list(options);
/** Stops every running instance of the home (each saves its session); one failing does not keep the others running. */
export const stopAll = async (options?: Omit<StopOptions, 'instance'>): Promise<StopAllItem[]> =>
  (await import('./api/instance-ops.js')).stopAll(options);
/** VM state, each service's health, the session; `name` is the instance's. */
export const status = async (options?: CommonOptions): Promise<StatusReport> =>
  (await import('./api/status.js')).status(options);
/** Credentials of the running emulator (the internal project's, or a config file's project's). */
export const credentials = async (options?: CommonOptions & { configFile?: string }): Promise<Credentials> =>
  (await import('./api/instance-ops.js')).credentials(options);
/** {@link credentials} as environment variables (STACK_PROJECT_ID, STACK_API_URL, ... in every spelling). */
export const credentialsEnv = async (
  options?: CommonOptions & { configFile?: string },
): Promise<Record<string, string>> => (await import('./api/instance-ops.js')).credentialsEnv(options);
/** Runs a command in the running guest (as root) through its agent. */
export const exec = async (options: CommonOptions & GuestCommand): Promise<ExecResult> =>
  (await import('./api/instance-ops.js')).exec(options);
/** Discards the saved session (and with `snapshots`, every snapshot; with `checkpoints`, every checkpoint). */
export const reset = async (
  options?: CommonOptions & { snapshots?: boolean; checkpoints?: boolean },
): Promise<ResetResult> => (await import('./api/home-ops.js')).reset(options);
/** Removes what nothing will use again (or lists it, with `dryRun`). */
export const prune = async (options?: CommonOptions & { dryRun?: boolean }): Promise<PruneResult> =>
  (await import('./api/home-ops.js')).prune(options);
/** Captures a new golden snapshot. */
export const capture = async (
  options?: CommonOptions & StartFlagsOptions,
): Promise<{ snapshotId: string; elapsedMs: number }> => (await import('./api/home-ops.js')).capture(options);
/** Downloads the Stack image. */
export const pull = async (options?: PullOptions): Promise<PullResult> =>
  (await import('./api/home-ops.js')).pull(options);
/** Emulator image releases of a repository. */
export const listReleases = async (options: CommonOptions & { repo: string }): Promise<ReleaseSummary[]> =>
  (await import('./api/home-ops.js')).listReleases(options);
/** Checks this host. */
export const doctor = async (options?: CommonOptions & { arch?: 'amd64' | 'arm64' }): Promise<DoctorReport> =>
  (await import('./api/home-ops.js')).doctor(options);
/** The host tools the emulator needs: what is missing, the install commands, and (at a terminal, with consent) their run. */
export const setup = async (options: SetupOptions): Promise<SetupOutcome> =>
  (await import('./api/setup.js')).setup(options);
/** Start/stop benchmarks. */
export const bench = async (options: BenchOptions): Promise<ScenarioResult[]> =>
  (await import('./api/home-ops.js')).bench(options);
/** The end of a log. */
export const readLog = async (options: LogOptions): Promise<{ path: string; text: string; size: number }> =>
  (await import('./api/logs.js')).readLog(options);
/** Follows a log until `signal` aborts. */
export const followLog = async (options: FollowLogOptions): Promise<void> =>
  (await import('./api/logs.js')).followLog(options);
/**
 * Checkpoints: an instance's whole state (every service's data, RAM, devices) kept under a name and
 * returned to in about half a second; they belong to the home, so any instance can be restored to one.
 */
export const checkpoint = {
  /** Saves the running instance's state as `name` (`force` replaces one of that name); it runs on. */
  save: async (name: string, options?: CommonOptions & SaveCheckpointOptions): Promise<SaveCheckpointResult> =>
    (await import('./api/checkpoint.js')).save(name, options),
  /** Returns the instance (running or stopped) to `name` and resumes it: data, RAM, secrets. */
  restore: async (name: string, options?: CommonOptions & StartFlagsOptions): Promise<Emulator> =>
    (await import('./api/checkpoint.js')).restore(name, options),
  /** Every checkpoint of the home. */
  list: async (options?: CommonOptions): Promise<CheckpointInfo[]> =>
    (await import('./api/checkpoint.js')).list(options),
  /** Removes `name`; sessions restored from it run on. */
  rm: async (name: string, options?: CommonOptions): Promise<void> =>
    (await import('./api/checkpoint.js')).rm(name, options),
};
export { workerInstance } from './api/worker-instance.js';
// One per operation: pass it in to see (or keep) what the operation did.
export { Trace, formatTraceEvent, type TraceEvent, type TraceOptions } from './trace/trace.js';
