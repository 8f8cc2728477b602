import { QmpClient, quit, systemPowerdown } from '@stack/qmp-protocol';
import { isProvenProcess, isSameProcess } from '@stack/internal';
import type { EmulatorConfig } from '../config/resolve-config.js';
import { EmulatorError } from '../errors.js';
import { unmountShares, waitForAgent } from '../guest/guest.js';
import { cleanupRunFiles, lockInstance } from './instance.js';
import { originalInstance, stopOriginal } from '../session/legacy-home.js';
import { saveRam } from '../vm/save-ram.js';
import { sessionStore } from '../session/session.js';
import { type InstanceState, readState, type Timings } from './state.js';
import { waitForExit } from '../vm/vm-process.js';
import { trace } from '../trace/trace.js';

export interface StopResult {
  wasRunning: boolean;
  /** How QEMU ended: its session saved, the guest powered off, QEMU told to quit, or signals. */
  how: 'not-running' | 'saved' | 'acpi-poweroff' | 'qmp-quit' | 'sigterm' | 'sigkill';
  /** Why a session that could have been saved was not (it was powered off instead; its disk is kept). */
  saveFailed?: string;
  /** The instance was started by the original stack-emulator. */
  original?: boolean;
  elapsedMs: number;
  /** Milliseconds from the stop call to each step (sharesUnmounted, ramSaved, qemuExited, committed, stopped). */
  timings: Timings;
}

export interface StopOptions {
  /** How long the guest gets to power off before QEMU is told to quit. @default config.stopTimeoutMs */
  timeoutMs?: number;
  /** The data is about to be discarded (reset): no save, no power-down, QEMU quits at once. @default false */
  discard?: boolean;
  onPhase?: (text: string) => void;
}

/**
 * Stops the instance. A session in the snapshot layout is saved: shares unmounted, guest paused, RAM
 * to the session, QEMU quit (its disk flushed), RAM state committed; the next start resumes it. When
 * that fails, or there is nothing to save, the guest gets an ACPI power-down (it shuts its services
 * down cleanly) through one QMP session, then `quit` after `timeoutMs`, then SIGTERM, then SIGKILL.
 * Sockets and the state file are removed; disks, logs and the published key stay.
 */
export async function stopEmulator(config: EmulatorConfig, options: StopOptions = {}): Promise<StopResult> {
  const lock = await lockInstance(config, 'stop');
  try {
    return await stopHeld(config, options);
  } finally {
    await lock.release();
  }
}

/** {@link stopEmulator} for a caller that holds the instance lock (start, sharing a new directory). */
export async function stopHeld(config: EmulatorConfig, options: StopOptions = {}): Promise<StopResult> {
  const t0 = Date.now();
  const timings: Timings = {};
  const mark = (step: string) => (timings[step] = Date.now() - t0);
  const state = await readState(config.paths.state);
  if (!state || !isSameProcess(state.pid, state.pidStartTime)) {
    await cleanupRunFiles(config);
    const orig = originalInstance(config);
    if (orig) {
      const how = await stopOriginal(config, orig, {
        timeoutMs: options.timeoutMs ?? config.stopTimeoutMs,
        onPhase: options.onPhase,
      });
      return { wasRunning: true, how, original: true, elapsedMs: Date.now() - t0, timings };
    }
    // A session whose QEMU died stays marked running: the next start says it did not stop cleanly.
    return { wasRunning: false, how: 'not-running', elapsedMs: Date.now() - t0, timings };
  }
  const qmp = await QmpClient.connect(config.paths.qmpSocket, {
    timeout: 3000,
    trace: trace.protocol('qmp', config.paths.qmpSocket),
  }).catch(() => undefined);
  let how: StopResult['how'] | undefined;
  let saveFailed: string | undefined;
  try {
    const save = state.persistence?.kind === 'session' ? state.persistence.save : undefined;
    if (qmp && save && !options.discard) {
      options.onPhase?.('saving the session');
      saveFailed = await saveSession(config, state, qmp, save, mark);
      if (!saveFailed) how = 'saved';
      else
        options.onPhase?.(
          `could not save the session (${saveFailed}); powering the guest off instead (its disk is kept)`,
        );
    }
    how ??= await endQemu(config, state, qmp, { ...options, quick: options.discard === true });
  } finally {
    await qmp?.close().catch(() => {});
  }
  if (how !== 'saved') await markSessionStopped(config, state, false);
  await cleanupRunFiles(config);
  mark('stopped');
  return { wasRunning: true, how, ...(saveFailed ? { saveFailed } : {}), elapsedMs: Date.now() - t0, timings };
}

type SavePlan = NonNullable<Extract<NonNullable<InstanceState['persistence']>, { kind: 'session' }>['save']>;

/** Saves the session; returns why it could not (the guest then runs on, for a power-down). */
async function saveSession(
  config: EmulatorConfig,
  state: InstanceState,
  qmp: QmpClient,
  save: SavePlan,
  mark: (step: string) => void,
): Promise<string | undefined> {
  const store = sessionStore(config);
  try {
    if (state.shares?.length) {
      // QEMU refuses to migrate while a 9p export is mounted.
      const qga = await waitForAgent(config.paths.agentSocket, { timeoutMs: 10_000 });
      try {
        const busy = await unmountShares(qga);
        if (busy) return `a shared directory is still in use in the guest: ${busy}`;
      } finally {
        await qga.close().catch(() => {});
      }
      mark('sharesUnmounted');
    }
    await saveRam(qmp, { path: store.ramTempPath, format: save.format, version: save.qemuVersion });
    mark('ramSaved');
    await quit(qmp, { timeout: 3000 }).catch(() => {});
    if (!(await waitForExit(state.pid, state.pidStartTime, 30_000))) return 'QEMU did not exit after saving';
    mark('qemuExited');
    // Only now, with QEMU gone and its disk flushed, does the RAM state belong to the disk.
    await store.commitRam({ key: save.key, plugged: state.shares ?? [] });
    mark('committed');
    return undefined;
  } catch (e) {
    await store.discardRam().catch(() => {});
    return (e as Error).message;
  }
}

/** Power-down (or quit, when `quick`), then signals, only to a process proven to be this home's QEMU. */
async function endQemu(
  config: EmulatorConfig,
  state: InstanceState,
  qmp: QmpClient | undefined,
  options: StopOptions & { quick: boolean },
): Promise<StopResult['how']> {
  const { pid, pidStartTime } = state;
  if (!isSameProcess(pid, pidStartTime)) return 'qmp-quit';
  let how: StopResult['how'] = options.quick ? 'qmp-quit' : 'acpi-poweroff';
  const timeoutMs = options.timeoutMs ?? config.stopTimeoutMs;
  if (qmp) {
    if (!options.quick) {
      options.onPhase?.('asking the guest to power off (ACPI)');
      await systemPowerdown(qmp, { timeout: 3000 }).catch(() => {});
    }
    if (options.quick || !(await waitForExit(pid, pidStartTime, timeoutMs))) {
      how = 'qmp-quit';
      if (!options.quick) options.onPhase?.(`guest still running after ${timeoutMs / 1000} s; telling QEMU to quit`);
      await quit(qmp, { timeout: 3000 }).catch(() => {});
    }
  }
  if (isSameProcess(pid, pidStartTime) && !(await waitForExit(pid, pidStartTime, 3000))) {
    // Signals only for a process proven to be this home's QEMU: its recorded start time, and a
    // command line naming QEMU and this home's VM directory. A pid reused by another program, or
    // a state file of an older version without a start time, is never signalled.
    if (!isProvenProcess(pid, pidStartTime, ['qemu-system', config.paths.vm])) {
      throw new EmulatorError(
        'STOP_REFUSED',
        `pid ${pid} did not stop through QEMU's monitor, and it cannot be proven to be this emulator's QEMU (${pidStartTime ? 'its start time or command line differs' : 'no start time was recorded'}): not signalling it`,
        {
          hint: `if it is a QEMU of ${config.paths.home}, stop it yourself (kill ${pid}), then run \`stack-emulator stop\` again`,
        },
      );
    }
    how = 'sigterm';
    process.kill(pid, 'SIGTERM');
    if (!(await waitForExit(pid, pidStartTime, 3000))) {
      how = 'sigkill';
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, pidStartTime, 5000);
    }
  }
  return how;
}

/** Records a stop without saved RAM in the session (its disk is kept); nothing for an ephemeral instance. */
async function markSessionStopped(
  config: EmulatorConfig,
  state: InstanceState | undefined,
  saved: boolean,
): Promise<void> {
  if (state?.persistence?.kind !== 'session') return;
  const store = sessionStore(config);
  if (!(await store.read())) return;
  await store
    .update(({ running, ...m }) =>
      running?.pid === state.pid
        ? { ...m, lastStop: { at: new Date().toISOString(), saved } }
        : { ...m, ...(running ? { running } : {}) },
    )
    .catch(() => {});
}
