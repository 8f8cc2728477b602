import { rm } from 'node:fs/promises';
import type { Op } from '../context/op.js';
import { sessionStore } from '../session/session.js';
import { EmulatorError } from '../errors.js';
import { lockInstance } from './instance.js';
import { runningOthers } from './instances.js';
import { stopHeld, type StopResult } from './stop.js';

export interface ResetResult {
  /** How the running VM was ended (`not-running` when none ran). */
  stopped: StopResult;
  /** True when a saved session (its disk, RAM state and data) was discarded. */
  sessionDiscarded: boolean;
  snapshotsDeleted: boolean;
}

/**
 * Discards the instance's data: the running VM is ended (no save), its session dropped and its run
 * directory removed, all under one hold of the instance lock, so no start can slip in between and
 * have its session dropped under a running VM. Images and snapshots stay (`snapshots`: those too).
 */
export async function resetEmulator(op: Op, options: { snapshots?: boolean } = {}): Promise<ResetResult> {
  const { config } = op;
  const lock = await lockInstance(op, 'reset');
  try {
    if (options.snapshots) {
      // Snapshots are the home's: other instances resume from them and map their RAM templates.
      const others = await runningOthers(op);
      if (others.length > 0)
        throw new EmulatorError(
          'ALREADY_RUNNING',
          `reset --snapshots deletes the snapshots every instance shares, and ${others.join(', ')} ${others.length > 1 ? 'run' : 'runs'} from them`,
          { hint: 'stop them first (`stack-emulator stop --all`), or reset without --snapshots' },
        );
    }
    const stopped = await stopHeld(op, { discard: true });
    const sessionDiscarded = await sessionStore(config).drop();
    await rm(config.paths.vm, { recursive: true, force: true });
    if (options.snapshots) await rm(config.paths.snapshots, { recursive: true, force: true });
    return { stopped, sessionDiscarded, snapshotsDeleted: options.snapshots === true };
  } finally {
    await lock.release();
  }
}
