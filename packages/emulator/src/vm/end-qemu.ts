import type { Op } from '../context/op.js';
import { EmulatorError } from '../errors.js';
import type { VmControl } from '../seams/vm.js';

export type EndedHow = 'acpi-poweroff' | 'qmp-quit' | 'sigterm' | 'sigkill';

/** A QEMU to end: its pid and start time as recorded, and what its command line must contain to be signalled. */
export interface QemuToEnd {
  pid: number;
  startTime: string | undefined;
  /** Strings its command line must contain (QEMU, and this home's VM directory) before any signal. */
  proof: readonly string[];
  /** Its monitor, when it answered. */
  control: VmControl | undefined;
}

/** Waits up to `timeoutMs` for a process to exit; true once it has. */
export async function waitForExit(
  op: Op,
  pid: number,
  startTime: string | undefined,
  timeoutMs: number,
): Promise<boolean> {
  const { processes, clock } = op.seams;
  const end = clock.now() + timeoutMs;
  while (clock.now() < end) {
    if (!processes.alive(pid, startTime)) return true;
    // QEMU exits 20-60 ms after `quit`: a coarser poll would add up to its period to every stop.
    await clock.sleep(10);
  }
  return !processes.alive(pid, startTime);
}

/**
 * Ends a QEMU: the guest's ACPI power-down (it shuts its services down cleanly), `quit` after
 * `timeoutMs` (at once when `quick`), then SIGTERM, then SIGKILL. Signals go only to a process proven
 * to be the one meant: its recorded start time and a command line naming QEMU and the home. A pid
 * reused by another program, or a record without a start time, is never signalled: STOP_REFUSED.
 */
export async function endQemu(
  op: Op,
  q: QemuToEnd,
  options: { timeoutMs: number; quick: boolean; onPhase?: (text: string) => void; who?: string },
): Promise<EndedHow> {
  const { processes } = op.seams;
  if (!processes.alive(q.pid, q.startTime)) return 'qmp-quit';
  let how: EndedHow = options.quick ? 'qmp-quit' : 'acpi-poweroff';
  if (q.control) {
    if (!options.quick) {
      options.onPhase?.(`asking ${options.who ?? 'the guest'} to power off (ACPI)`);
      await q.control.powerdown().catch(() => {});
    }
    if (options.quick || !(await waitForExit(op, q.pid, q.startTime, options.timeoutMs))) {
      how = 'qmp-quit';
      if (!options.quick)
        options.onPhase?.(`guest still running after ${options.timeoutMs / 1000} s; telling QEMU to quit`);
      await q.control.quit().catch(() => {});
    }
  }
  if (processes.alive(q.pid, q.startTime) && !(await waitForExit(op, q.pid, q.startTime, 3000))) {
    if (!processes.proven(q.pid, q.startTime, q.proof)) {
      throw new EmulatorError(
        'STOP_REFUSED',
        `pid ${q.pid} did not stop through QEMU's monitor, and it cannot be proven to be this emulator's QEMU (${q.startTime ? 'its start time or command line differs' : 'no start time was recorded'}): not signalling it`,
        {
          hint: `if it is a QEMU of ${op.config.paths.home}, stop it yourself (kill ${q.pid}), then run \`stack-emulator stop\` again`,
        },
      );
    }
    how = 'sigterm';
    processes.kill(q.pid, 'SIGTERM');
    if (!(await waitForExit(op, q.pid, q.startTime, 3000)) && processes.proven(q.pid, q.startTime, q.proof)) {
      how = 'sigkill';
      processes.kill(q.pid, 'SIGKILL');
      await waitForExit(op, q.pid, q.startTime, 5000);
    }
  }
  return how;
}
