import { mkdir, rm } from 'node:fs/promises';
import { acquireLock, type Lock, LockBusyError } from '@stack/snapshot-cache';
import { isSameProcess } from '@stack/internal';
import type { EmulatorConfig } from '../config/resolve-config.js';
import { EmulatorError } from '../errors.js';
import { trace } from '../trace/trace.js';
import { clearState, type InstanceState, readState } from './state.js';

/** Takes the instance lock, or says who holds it. */
export async function lockInstance(config: EmulatorConfig, command: string): Promise<Lock> {
  await mkdir(config.paths.run, { recursive: true, mode: 0o700 });
  // Every command that works on the instance leaves its trace (`logs --source trace`).
  trace.persistTo(config.paths.trace);
  try {
    return await acquireLock(config.paths.lock, { command });
  } catch (e) {
    if (e instanceof LockBusyError) {
      throw new EmulatorError(
        'LOCK_BUSY',
        `another stack-emulator command is working on ${config.paths.home}: pid ${e.holder.pid} (${e.holder.command}, since ${e.holder.since})`,
        { hint: 'wait for it to finish', cause: e },
      );
    }
    throw e;
  }
}

/** The running instance, if its QEMU is alive. */
export async function runningInstance(config: EmulatorConfig): Promise<InstanceState | undefined> {
  const state = await readState(config.paths.state);
  return state && isSameProcess(state.pid, state.pidStartTime) ? state : undefined;
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
