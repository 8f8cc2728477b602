import type { EmulatorConfig } from '../config/resolve-config.js';
import type { Op } from '../context/op.js';
import { EmulatorError } from '../errors.js';
import { cleanupRunFiles, isOrphan, lockInstance, runningInstance } from '../instance/instance.js';
import type { InstanceState } from '../instance/state.js';
import { stopHeld } from '../instance/stop.js';
import { instancePorts } from '../host/instance-ports.js';
import { checkMemory } from '../instance/memory-check.js';
import { portIsFree } from '../host/ports.js';
import { originalInstance } from '../session/legacy-home.js';
import { sessionStore } from '../session/store.js';
import { compatibilityKey } from '../vm/vm-spec.js';
import { missingShares } from '../host/wide-shares.js';
import { chooseShareSlots } from './session-shares.js';
import type { BootEnv } from './boot-env.js';
import { lockImageCapture } from './capture-lock.js';
import { captureSnapshot } from './capture.js';
import { executeStart } from './execute.js';
import { prepareBoot } from './prepare.js';
import { clearLaunch, recordCapture, recordStarted } from './record.js';

export interface StartResult {
  /** True when an instance was already running: nothing was touched. */
  alreadyRunning: boolean;
  /** True when a running instance was saved and resumed to share the config file's directory. */
  reshared?: boolean;
  state: InstanceState;
}

/**
 * What the running instance does not share yet: the config file's project unless a read-write share
 * holds it, and each `--share` no share serves (host/wide-shares.ts, `missingShares`: the same test
 * the resume makes to choose slots, see session-shares.ts).
 */
export function lackingShares(config: EmulatorConfig, state: InstanceState): string[] {
  const shares = state.shares ?? (state.hostShare ? [state.hostShare] : []);
  const wanted = [...(config.shareRoot ? [{ dir: config.shareRoot, readonly: false }] : []), ...config.extraShares];
  return [...new Set(missingShares(wanted, shares, state.readonlyShares ?? []).map((w) => w.dir))];
}

/** Refuses to touch a home whose QEMU the original stack-emulator started (its ports and disk are in use). */
function assertNoOriginalInstance(config: EmulatorConfig): void {
  const orig = originalInstance(config);
  if (orig) {
    throw new EmulatorError(
      'ALREADY_RUNNING',
      `an emulator started by the original stack-emulator is running on ${config.paths.home} (QEMU pid ${orig.pid}); its ports and disk are in use`,
      { hint: 'run `stack-emulator stop` (it stops that one too; its disk is kept and adopted at the next start)' },
    );
  }
}

/**
 * What runs already, made ready for a new start: an orphan (a QEMU whose start was killed before it
 * finished) is ended, its session left marked as not stopped cleanly; a running instance without a
 * share the config file needs is saved, to be resumed with it.
 */
async function settleExisting(op: Op): Promise<{ running?: InstanceState; reshared: boolean }> {
  const { config, reporter } = op;
  const existing = await runningInstance(op);
  if (!existing) return { reshared: false };
  if (isOrphan(op, existing)) {
    reporter.warn(
      `a QEMU (pid ${existing.pid}) whose start was interrupted is still running; ending it (its disk is kept, and boots as after a power cut)`,
    );
    await stopHeld(op, { discard: true });
    return { reshared: false };
  }
  // A VM left paused by a stop that was killed mid-save: nothing will resume it; that stop is finished
  // (the save again, else QEMU quits at once), and this start goes on as after a stop.
  const control = await op.seams.vms.attach(config.paths.qmpSocket, { trace: op.trace, timeout: 2000 });
  const run = await control?.status().catch(() => undefined);
  await control?.close().catch(() => {});
  if (run && !run.running && ['paused', 'postmigrate', 'finish-migrate'].includes(run.status)) {
    reporter.warn(`the running emulator is ${run.status} (a stop was interrupted): finishing that stop first`);
    await stopHeld(op, { timeoutMs: 0 });
    return { reshared: false };
  }
  const lacking = lackingShares(config, existing);
  if (lacking.length === 0) return { running: existing, reshared: false };
  const what = lacking.join(', ');
  // A share is fixed at QEMU's launch (no fsdev hot-plug): a saved session is resumed with it.
  if (existing.persistence?.kind !== 'session' || !existing.persistence.save) {
    throw new EmulatorError(
      'HOST_SHARE_FAILED',
      `the running emulator does not share ${what}, and it cannot be saved and resumed with it (${existing.persistence?.kind === 'session' ? 'it runs without snapshots' : 'it is ephemeral'})`,
      { hint: 'stop it, then start again with the same --config-file and --share flags' },
    );
  }
  // Before anything is stopped: with no free slot the running VM is left as it is.
  chooseShareSlots(existing.shares ?? [], lacking, config.paths.emptyShare);
  reporter.info(`sharing ${what} with the running emulator: saving its session and resuming it with the new share`);
  const r = await stopHeld(op);
  if (r.how !== 'saved')
    reporter.warn(`the session could not be saved (${r.saveFailed ?? r.how}); it cold-boots with the new share`);
  return { reshared: true };
}

/**
 * First thing after a crash: the RAM file of a session whose VM died without saving holds nothing the
 * disk can use (the cold boot would delete it), and on a full disk it is what holds the space; a
 * session that never started is dropped.
 */
async function freeCrashLeftovers(op: Op): Promise<void> {
  if (op.config.ephemeral) return;
  const store = sessionStore(op.config);
  if (!(await store.read())) return;
  // No VM runs on it now: a disk a checkpoint left pending (its VM killed since) takes the session's name.
  await store.settleLayers();
  const meta = (await store.read())!;
  // A session whose first start never became healthy holds nothing of the user's (no key was ever
  // handed out): a new one from the golden snapshot is better than a cold boot of its disk.
  if (!meta.secrets && !meta.lastStop && meta.origin !== 'adopted') {
    op.reporter.info('the last start was interrupted before its session was ever used: beginning a new one');
    await store.drop();
    return;
  }
  if (!meta.ram) await store.discardMemory();
}

/** The operation on this start's host ports: the instance's kept or newly chosen ones under `--ports auto`. */
async function withInstancePorts(op: Op): Promise<Op> {
  const { ports, chosen } = await instancePorts(op.config, {
    isFree: (port) => portIsFree(port),
    warn: (text) => op.reporter.warn(text),
  });
  if (op.config.portsMode === 'auto')
    op.reporter.info(
      `${chosen ? 'chose' : 'kept'} host ports for instance ${op.config.instance}: ${Object.entries(ports)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  return ports === op.config.ports ? op : { ...op, config: Object.freeze({ ...op.config, ports }) };
}

/**
 * The flow of `start` (docs/ARCHITECTURE.md): lock, what runs already, host probe, ports, image, then
 * the plan's attempts (execute.ts), recorded in run/state.json from the moment QEMU exists.
 */
export async function startEmulator(
  op: Op,
  options: {
    /** When the command started. @default now */
    t0?: number;
    /** Resolves the host, image and accelerator. @default prepareBoot (tests give a prepared environment) */
    prepare?: (op: Op, t0: number) => Promise<BootEnv>;
    /**
     * Replaces the session under the lock before the start (a checkpoint restore): whatever runs is
     * ended without a save first, and the start must resume the new session (`name` says whose).
     */
    replaceSession?: { name: string; replace: () => Promise<void> };
  } = {},
): Promise<StartResult> {
  const t0 = options.t0 ?? op.seams.clock.now();
  const { config } = op;
  for (const w of config.shareWarnings) op.reporter.warn(w);
  const lock = await lockInstance(op, 'start');
  // Until what ran before is settled, the run directory is another VM's (its state.json, sockets): a
  // start refused there (a share it cannot add, the original's QEMU) must not clean it, or that VM
  // would run on with no record.
  let ours = false;
  try {
    let settled: Awaited<ReturnType<typeof settleExisting>> = { reshared: false };
    if (options.replaceSession) {
      await stopHeld(op, { discard: true });
      await options.replaceSession.replace();
    } else settled = await settleExisting(op);
    const { running, reshared } = settled;
    if (running) return { alreadyRunning: true, state: running };
    assertNoOriginalInstance(config);
    ours = true;
    await cleanupRunFiles(config);
    await freeCrashLeftovers(op);
    await checkMemory(op);
    const withPorts = await withInstancePorts(op);
    const { env, booted } = await executeStart(
      await (options.prepare ?? prepareBoot)(withPorts, t0),
      options.replaceSession ? { resumeOnly: options.replaceSession.name } : {},
    );
    let state: InstanceState;
    try {
      op.signal?.throwIfAborted();
      state = await recordStarted(env, booted);
    } catch (e) {
      // Without its state file nothing could find or stop this VM: never leave it running.
      await booted.vm.kill();
      throw e;
    }
    await booted.vm.control.close();
    booted.vm.detach();
    return { alreadyRunning: false, ...(reshared ? { reshared } : {}), state };
  } catch (e) {
    if (ours) await cleanupRunFiles(config).catch(() => {});
    throw e;
  } finally {
    await lock.release();
  }
}

/** `capture`: a new snapshot for the current configuration, replacing any (also a quarantined one). */
export async function captureOnly(op: Op): Promise<{ snapshotId: string; elapsedMs: number }> {
  const { config, seams } = op;
  const t0 = seams.clock.now();
  const lock = await lockInstance(op, 'capture');
  try {
    let existing = await runningInstance(op);
    if (existing && isOrphan(op, existing)) {
      await stopHeld(op, { discard: true });
      existing = undefined;
    }
    if (existing)
      throw new EmulatorError(
        'ALREADY_RUNNING',
        `the emulator is running (pid ${existing.pid}); a capture needs its ports and sockets`,
        { hint: 'run `stack-emulator stop` first' },
      );
    assertNoOriginalInstance(config);
    await cleanupRunFiles(config);
    // A capture is of the image as it is now, not a session's pinned one.
    const ported = await withInstancePorts(op);
    const env = await prepareBoot({ ...ported, config: Object.freeze({ ...ported.config, ephemeral: true }) }, t0);
    if (env.snapshots.format === undefined) throw new EmulatorError('SNAPSHOT_UNSUPPORTED', env.snapshots.reason);
    const { lock: capturing } = await lockImageCapture(env);
    const entry = await captureSnapshot(env, compatibilityKey(env, env.snapshots.format), (vm) =>
      recordCapture(env, vm),
    ).finally(() => capturing.release());
    await clearLaunch(env);
    return { snapshotId: entry.id, elapsedMs: seams.clock.now() - t0 };
  } finally {
    await cleanupRunFiles(config).catch(() => {});
    await lock.release();
  }
}
