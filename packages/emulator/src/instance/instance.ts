import { mkdir, rm } from 'node:fs/promises';
import { acquireLock, type Lock, LockBusyError } from '@stack/snapshot-cache';
import type { EmulatorConfig } from '../config/resolve-config.js';
import type { Op } from '../context/op.js';
import { EmulatorError } from '../errors.js';
import { DEFAULT_INSTANCE } from '../config/paths.js';
import { clearState, type InstanceState, readState } from './state.js';

/** Takes the instance lock, or says who holds it. */
export async function lockInstance(op: Op, command: string): Promise<Lock> {
  const { config } = op;
  await mkdir(config.paths.run, { recursive: true, mode: 0o700 });
  try {
    return await acquireLock(config.paths.lock, { command });
  } catch (e) {
    if (e instanceof LockBusyError) {
      throw new EmulatorError(
        'LOCK_BUSY',
        `another stack-emulator command is working on ${config.instance === DEFAULT_INSTANCE ? config.paths.home : `instance ${config.instance} of ${config.paths.home}`}: pid ${e.holder.pid} (${e.holder.command}, since ${e.holder.since})`,
        { hint: 'wait for it to finish', cause: e },
      );
    }
    throw e;
  }
}

/**
 * NOT_RUNNING for `config`'s instance: the default one reads as it always did ("the emulator is not
 * running"), a named one is named, with the flag that starts it.
 */
export function notRunning(config: EmulatorConfig): EmulatorError {
  if (config.instance === DEFAULT_INSTANCE)
    return new EmulatorError('NOT_RUNNING', 'the emulator is not running', {
      hint: 'start it with `stack-emulator start`',
    });
  return new EmulatorError('NOT_RUNNING', `instance ${config.instance} is not running`, {
    hint: `start it with \`stack-emulator start --instance ${config.instance}\``,
  });
}

/** The recorded instance, if its QEMU is alive (whatever its phase). */
export async function runningInstance(op: Op): Promise<InstanceState | undefined> {
  const state = await readState(op.config.paths.state);
  return state && op.seams.processes.alive(state.pid, state.pidStartTime) ? state : undefined;
}

/**
 * A QEMU whose start never finished and whose starting command is gone (killed, or the host's OOM
 * killer): nothing will settle it, and its guest may hold half-rotated secrets.
 */
export function isOrphan(op: Op, state: InstanceState): boolean {
  if (!state.phase || state.phase === 'running') return false;
  return !state.starter || !op.seams.processes.alive(state.starter.pid, state.starter.startTime);
}

/**
 * Removes what a stopped or failed instance leaves behind: its sockets and state file; never images,
 * snapshots, the overlay, or the published client key (kept after stop, as the original keeps it: a
 * later cold boot on the same disk knows the secrets it holds).
 */
export async function cleanupRunFiles(config: EmulatorConfig): Promise<void> {
  const p = config.paths;
  await Promise.all([p.qmpSocket, p.agentSocket].map((f) => rm(f, { force: true })));
  await clearState(p.state);
}
