import { isFetchError, listReleases as listGitHubReleases } from '@stack/release-fetcher';
import { runBench, type ScenarioResult } from '../bench/bench.js';
import type { Scenario } from '../bench/bench-scenarios.js';
import { captureOnly } from '../boot/start.js';
import { doctor as doctorOf, type DoctorReport } from '../host/doctor.js';
import { checkPullFlags, gitHubToken, pullError, pullImage, type PullFlags, type PullResult } from '../image/pull.js';
import { resetEmulator, type ResetResult } from '../instance/reset.js';
import { pruneHome, type PruneResult } from '../instance/prune.js';
import { checkOptions, type CommonOptions, openOp, runOp, type StartFlagsOptions } from './options.js';
import type { EmulatorConfig } from '../config/resolve-config.js';
import { assertToolsForPull } from '../setup/pull-precheck.js';
import { type ProbeDeps, probeSetupFacts } from '../setup/setup-probe.js';
import { realSetupProbe } from './setup.js';

/** Discards the saved session and run state (under one lock); images, snapshots and checkpoints stay unless asked. */
export async function reset(
  options: CommonOptions & { snapshots?: boolean; checkpoints?: boolean } = {},
): Promise<ResetResult> {
  const op = openOp(checkOptions(options));
  return runOp(op, true, () =>
    resetEmulator(op, { snapshots: options.snapshots === true, checkpoints: options.checkpoints === true }),
  );
}

/**
 * Removes what nothing will use again (quarantined or stale snapshots, sessions set aside, older
 * appliance builds, the original tool's snapshot files), with what each frees; `dryRun` only lists.
 */
export async function prune(options: CommonOptions & { dryRun?: boolean } = {}): Promise<PruneResult> {
  const op = openOp(checkOptions(options));
  return runOp(op, true, () => pruneHome(op, { dryRun: options.dryRun === true }));
}

/** Captures a new snapshot for the configuration (replaces an existing or quarantined one). */
export async function capture(
  options: CommonOptions & StartFlagsOptions = {},
): Promise<{ snapshotId: string; elapsedMs: number }> {
  const op = openOp(checkOptions({ ...options, forceCapture: true }, true));
  return runOp(op, true, () => captureOnly(op));
}

export type PullOptions = CommonOptions & PullFlags & { arch?: 'amd64' | 'arm64' };

/** Downloads the Stack image into place (resumable, verified); the current one stays usable until then. */
export async function pull(
  options: PullOptions = {},
  probe: (config: EmulatorConfig) => ProbeDeps = realSetupProbe,
): Promise<PullResult> {
  checkOptions(options);
  const { env, home, host, reporter, signal, arch, trace } = options;
  // Only the common options: `image` and `baseEnv` are the pull's own (a local source, a base.env to keep).
  const op = openOp({ env, home, host, reporter, signal, arch, trace });
  // Before any download: without QEMU and qemu-img the image cannot run here (names `setup`). Bad flags first.
  checkPullFlags(op.config, options);
  assertToolsForPull(probeSetupFacts(op.config.arch, probe(op.config)));
  const r = op.reporter;
  return runOp(op, true, () =>
    pullImage(op, options, {
      signal: op.signal,
      ...(r.progress ? { onProgress: (p) => r.progress!(p) } : {}),
      onPhase: (t) => r.info(t),
      onRetry: (e, n, at) => r.warn(`${e.message}; retrying (attempt ${n + 1}) from byte ${at}`),
    }),
  );
}

export interface ReleaseSummary {
  tag: string;
  status: 'draft' | 'pre-release' | 'release';
  date: string;
  assets: string[];
}

/** The newest 20 emulator releases of a GitHub repository. */
export async function listReleases(options: CommonOptions & { repo: string }): Promise<ReleaseSummary[]> {
  const { config } = openOp(checkOptions(options));
  const all = await listGitHubReleases(options.repo, {
    token: await gitHubToken(config.env),
    apiBase: config.githubApi,
  }).catch((e: unknown) => {
    throw isFetchError(e) ? pullError(e) : e;
  });
  return all
    .filter((r) => `${r.tag_name} ${r.name ?? ''}`.toLowerCase().includes('emulator'))
    .slice(0, 20)
    .map((r) => ({
      tag: r.tag_name,
      status: r.draft ? 'draft' : r.prerelease ? 'pre-release' : 'release',
      date: (r.published_at ?? r.created_at).slice(0, 10),
      assets: r.assets.map((a) => a.name),
    }));
}

/** Checks this host (QEMU, accelerator, firmware, shares, snapshot format, tools); starts nothing. */
export async function doctor(options: CommonOptions & { arch?: 'amd64' | 'arm64' } = {}): Promise<DoctorReport> {
  return doctorOf(openOp(checkOptions(options)).config);
}

export interface BenchOptions extends CommonOptions, StartFlagsOptions {
  /** Start/stop cycles per scenario. */
  runs: number;
  scenarios: Scenario[];
  /** Called after each measured run. @default none */
  onRun?: (scenario: Scenario, i: number, ms: number) => void;
}

/**
 * Medians (with the split) of start and stop scenarios; the emulator must be stopped. The instances
 * scenarios start the home's instances bench-1 to bench-4 (free host ports, kept), which must be
 * stopped too.
 */
export async function bench(options: BenchOptions): Promise<ScenarioResult[]> {
  const op = openOp(checkOptions(options, true));
  return runOp(op, false, () =>
    runBench(op, {
      runs: options.runs,
      scenarios: options.scenarios,
      ...(options.onRun ? { onRun: options.onRun } : {}),
      instances: { instanceOp: (instance) => openOp({ ...options, instance, ports: 'auto' }) },
    }),
  );
}
