import { migrationUri } from '@stack/qemu-argv';
import type { Op } from '../context/op.js';
import { originalInstance, stopOriginal } from '../session/legacy-home.js';
import { sessionStore } from '../session/session.js';
import type { VmControl } from '../seams/vm.js';
import { endQemu, type EndedHow, waitForExit } from '../vm/end-qemu.js';
import { migrationSettings } from '../vm/migration-settings.js';
import { cleanupRunFiles, lockInstance } from './instance.js';
import { remountShares, unmountShares } from './share-mounts.js';
import { type InstanceState, readState, type Timings } from './state.js';

export interface StopResult {
  wasRunning: boolean;
  /** How QEMU ended: its session saved, the guest powered off, QEMU told to quit, or signals. */
  how: 'not-running' | 'saved' | EndedHow;
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
 * that fails, or there is nothing to save, the guest gets an ACPI power-down through one monitor
 * connection, then `quit` after `timeoutMs`, then SIGTERM, then SIGKILL. An interrupt during the save
 * cancels it and leaves the VM running as it was (recorded, `stop` again works). Sockets and the
 * state file are removed; disks, logs and the published key stay.
 */
export async function stopEmulator(op: Op, options: StopOptions = {}): Promise<StopResult> {
  const lock = await lockInstance(op, 'stop');
  try {
    return await stopHeld(op, options);
  } finally {
    await lock.release();
  }
}

/** {@link stopEmulator} for a caller that holds the instance lock (start, reset). */
export async function stopHeld(op: Op, options: StopOptions = {}): Promise<StopResult> {
  const { config, seams } = op;
  const t0 = seams.clock.now();
  const timings: Timings = {};
  const mark = (step: string) => {
    timings[step] = seams.clock.now() - t0;
    op.trace.event('step', { step, ms: timings[step] });
  };
  const timeoutMs = options.timeoutMs ?? config.stopTimeoutMs;
  const state = await readState(config.paths.state);
  if (!state || !seams.processes.alive(state.pid, state.pidStartTime)) {
    await cleanupRunFiles(config);
    const orig = originalInstance(config);
    if (orig) {
      const how = await stopOriginal(op, orig, { timeoutMs, onPhase: options.onPhase });
      return { wasRunning: true, how, original: true, elapsedMs: seams.clock.now() - t0, timings };
    }
    // A session whose QEMU died stays marked running: the next start says it did not stop cleanly.
    return { wasRunning: false, how: 'not-running', elapsedMs: seams.clock.now() - t0, timings };
  }
  const save = state.persistence?.kind === 'session' ? state.persistence.save : undefined;
  const control = await seams.vms.attach(config.paths.qmpSocket, {
    trace: op.trace,
    timeout: 3000,
    ...(save ? { qemuVersion: save.qemuVersion } : {}),
  });
  let how: StopResult['how'] | undefined;
  let saveFailed: string | undefined;
  try {
    // A VM whose start never finished is not saved: its guest may hold half-rotated secrets.
    const settled = !state.phase || state.phase === 'running';
    if (control && save && settled && !options.discard) {
      options.onPhase?.('saving the session');
      saveFailed = await saveSession(op, state, control, save, mark);
      if (!saveFailed) how = 'saved';
      else
        options.onPhase?.(
          `could not save the session (${saveFailed}); powering the guest off instead (its disk is kept)`,
        );
    }
    how ??= await endQemu(
      op,
      { pid: state.pid, startTime: state.pidStartTime, proof: ['qemu-system', config.paths.vm], control },
      { timeoutMs, quick: options.discard === true || !settled, onPhase: options.onPhase },
    );
  } finally {
    await control?.close().catch(() => {});
  }
  if (how !== 'saved') {
    // QEMU is gone: a disk a checkpoint switched it to takes the session's name (else the next start does).
    if (state.persistence?.kind === 'session')
      await sessionStore(config)
        .settleLayers()
        .catch(() => {});
    await markSessionStopped(op, state, false);
  }
  await cleanupRunFiles(config);
  mark('stopped');
  return { wasRunning: true, how, ...(saveFailed ? { saveFailed } : {}), elapsedMs: seams.clock.now() - t0, timings };
}

type SavePlan = NonNullable<Extract<NonNullable<InstanceState['persistence']>, { kind: 'session' }>['save']>;

/**
 * Saves the session; returns why it could not (the guest then runs on, for a power-down). An
 * interrupt cancels the migration, runs the guest again and is rethrown: the VM stays as it was.
 */
async function saveSession(
  op: Op,
  state: InstanceState,
  control: VmControl,
  save: SavePlan,
  mark: (step: string) => void,
): Promise<string | undefined> {
  const { config, signal } = op;
  const store = sessionStore(config);
  mark('saving');
  try {
    if (state.shares?.length) {
      const busy = await unmountShares(op, state);
      if (busy) return busy;
      mark('sharesUnmounted');
    }
    await control.saveState(migrationUri(save.qemuVersion, 'out', store.ramTempPath), migrationSettings(save.format), {
      format: save.format,
      ...(signal ? { signal } : {}),
    });
    mark('ramSaved');
    await control.quit().catch(() => {});
    if (!(await waitForExit(op, state.pid, state.pidStartTime, 30_000))) return 'QEMU did not exit after saving';
    mark('qemuExited');
    // A disk a checkpoint switched QEMU to takes the session's name now that QEMU is gone.
    await store.settleLayers();
    // Only now, with QEMU gone and its disk flushed, does the RAM state belong to the disk.
    await store.commitRam({ key: save.key, plugged: state.shares ?? [], readonly: state.readonlyShares ?? [] });
    mark('committed');
    return undefined;
  } catch (e) {
    await store.discardRam().catch(() => {});
    if (signal?.aborted) {
      // The guest runs on (the save was cancelled): give it its shares back.
      await remountShares(op, state).catch(() => {});
      throw e;
    }
    return (e as Error).message;
  }
}

/** Records a stop without saved RAM in the session (its disk is kept); nothing for an ephemeral instance. */
async function markSessionStopped(op: Op, state: InstanceState, saved: boolean): Promise<void> {
  if (state.persistence?.kind !== 'session') return;
  const store = sessionStore(op.config);
  if (!(await store.read())) return;
  const at = new Date(op.seams.clock.now()).toISOString();
  await store
    .update(({ running, ...m }) =>
      running?.pid === state.pid ? { ...m, lastStop: { at, saved } } : { ...m, ...(running ? { running } : {}) },
    )
    .catch(() => {});
}
