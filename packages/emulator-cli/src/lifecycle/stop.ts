import { QmpClient, quit, systemPowerdown } from '@stack/qmp-protocol';
import { isProvenProcess, isSameProcess } from '@stack/snapshot-cache';
import type { EmulatorConfig } from '../config/resolve-config.js';
import { EmulatorError } from '../errors.js';
import { cleanupRunFiles, lockInstance } from './instance.js';
import { readState } from './state.js';
import { waitForExit } from './vm-process.js';

export interface StopResult {
  wasRunning: boolean;
  /** How QEMU ended: the guest powered off, QEMU was told to quit, or signals. */
  how: 'not-running' | 'acpi-poweroff' | 'qmp-quit' | 'sigterm' | 'sigkill';
  elapsedMs: number;
}

/**
 * Stops the instance: an ACPI power-down through one QMP session (the guest shuts its services down
 * cleanly), then, after `timeoutMs`, `quit` on the same session, then SIGTERM, then SIGKILL. Sockets,
 * the published key and the state file are removed; the disk overlay and logs stay.
 */
export async function stopEmulator(config: EmulatorConfig, options: { timeoutMs?: number; onPhase?: (text: string) => void } = {}): Promise<StopResult> {
  const t0 = Date.now();
  const lock = await lockInstance(config, 'stop');
  try {
    const state = await readState(config.paths.state);
    if (!state || !isSameProcess(state.pid, state.pidStartTime)) {
      await cleanupRunFiles(config);
      return { wasRunning: false, how: 'not-running', elapsedMs: Date.now() - t0 };
    }
    const { pid, pidStartTime } = state;
    const timeoutMs = options.timeoutMs ?? config.stopTimeoutMs;
    let how: StopResult['how'] = 'acpi-poweroff';
    const qmp = await QmpClient.connect(config.paths.qmpSocket, { timeout: 3000 }).catch(() => undefined);
    try {
      if (qmp) {
        options.onPhase?.('asking the guest to power off (ACPI)');
        await systemPowerdown(qmp, { timeout: 3000 }).catch(() => {});
        if (!(await waitForExit(pid, pidStartTime, timeoutMs))) {
          how = 'qmp-quit';
          options.onPhase?.(`guest still running after ${timeoutMs / 1000} s; telling QEMU to quit`);
          await quit(qmp, { timeout: 3000 }).catch(() => {});
        }
      }
      if (isSameProcess(pid, pidStartTime) && !(await waitForExit(pid, pidStartTime, 3000))) {
        // Signals only for a process proven to be this home's QEMU: its recorded start time, and a
        // command line naming QEMU and this home's VM directory. A pid reused by another program, or
        // a state file of an older version without a start time, is never signalled.
        if (!isProvenProcess(pid, pidStartTime, ['qemu-system', config.paths.vm])) {
          throw new EmulatorError('STOP_REFUSED', `pid ${pid} did not stop through QEMU's monitor, and it cannot be proven to be this emulator's QEMU (${pidStartTime ? 'its start time or command line differs' : 'no start time was recorded'}): not signalling it`, { hint: `if it is a QEMU of ${config.paths.home}, stop it yourself (kill ${pid}), then run \`stack-emulator stop\` again` });
        }
        how = 'sigterm';
        process.kill(pid, 'SIGTERM');
        if (!(await waitForExit(pid, pidStartTime, 3000))) {
          how = 'sigkill';
          process.kill(pid, 'SIGKILL');
          await waitForExit(pid, pidStartTime, 5000);
        }
      }
    } finally {
      await qmp?.close().catch(() => {});
    }
    await cleanupRunFiles(config);
    return { wasRunning: true, how, elapsedMs: Date.now() - t0 };
  } finally {
    await lock.release();
  }
}
