import { rm } from 'node:fs/promises';
import type { Op } from '../context/op.js';
import { sessionStore } from '../session/session.js';
import { EmulatorError } from '../errors.js';
import { openCheckpoints } from '../checkpoint/checkpoints.js';
import { lockInstance } from './instance.js';
import { runningOthers } from './instances.js';
import { stopHeld, type StopResult } from './stop.js';

export interface ResetResult {
  /** How the running VM was ended (`not-running` when none ran). */
  stopped: StopResult;
  /** True when a saved session (its disk, RAM state and data) was discarded. */
  sessionDiscarded: boolean;
  snapshotsDeleted: boolean;
  /** Checkpoints removed (`checkpoints`), by name. */
  checkpointsDeleted: string[];
}

/**
 * Discards the instance's data: the running VM is ended (no save), its session dropped and its run
 * directory removed, all under one hold of the instance lock, so no start can slip in between and
 * have its session dropped under a running VM. Images, snapshots and checkpoints stay (`snapshots`, `checkpoints`: those too).
 */
export async function resetEmulator(
  op: Op,
  options: { snapshots?: boolean; checkpoints?: boolean } = {},
): Promise<ResetResult> {
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
    // A checkpoint is the home's: kept by reset unless asked (sessions restored from one hold their own links).
    const checkpointsDeleted: string[] = [];
    if (options.checkpoints) {
      const store = await openCheckpoints(config);
      for (const c of await store.list()) if (await store.remove(c.name)) checkpointsDeleted.push(c.name);
    }
    return { stopped, sessionDiscarded, snapshotsDeleted: options.snapshots === true, checkpointsDeleted };
  } finally {
    await lock.release();
  }
}
