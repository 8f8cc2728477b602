import { emulatorStatus, type StatusReport } from '../instance/status.js';
import { checkOptions, type CommonOptions, openOp, runOp } from './options.js';

// A file of its own, not one of instance-ops.ts's operations: `status` is the command run most often
// (scripts poll it), and what a module imports is loaded before its first line runs. Beside stop,
// exec and list it loaded the guest agent's command runner, the stop and the instance summaries,
// none of which a status needs (issue 33).

/** VM state, each service's health, the session and notes about the home. */
export async function status(options: CommonOptions = {}): Promise<StatusReport> {
  const op = openOp(checkOptions(options));
  return runOp(op, false, () => emulatorStatus(op));
}
