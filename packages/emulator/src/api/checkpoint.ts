import type { CheckpointInfo } from '../checkpoint/checkpoints.js';
import { listCheckpoints, removeCheckpoint } from '../checkpoint/manage.js';
import { restoreCheckpoint } from '../checkpoint/restore.js';
import { saveCheckpoint, type SaveCheckpointOptions, type SaveCheckpointResult } from '../checkpoint/save.js';
import { checkOptions, type CommonOptions, openOp, runOp, type StartFlagsOptions } from './options.js';
import { type Emulator, emulatorHandle } from './start.js';

/** Saves the running instance's state as checkpoint `name`; it runs on. */
export async function save(
  name: string,
  options: CommonOptions & SaveCheckpointOptions = {},
): Promise<SaveCheckpointResult> {
  const { force, ...common } = options;
  const op = openOp(checkOptions(common, false));
  return runOp(op, true, () => saveCheckpoint(op, name, force !== undefined ? { force } : {}));
}

/** Returns the instance (running or stopped) to checkpoint `name` and resumes it there. */
export async function restore(name: string, options: CommonOptions & StartFlagsOptions = {}): Promise<Emulator> {
  const op = openOp(checkOptions(options, true));
  return emulatorHandle(op, await runOp(op, true, () => restoreCheckpoint(op, name)));
}

/** Every checkpoint of the home. */
export async function list(options: CommonOptions = {}): Promise<CheckpointInfo[]> {
  const op = openOp(checkOptions(options, false));
  return runOp(op, false, () => listCheckpoints(op));
}

/** Removes checkpoint `name`. */
export async function rm(name: string, options: CommonOptions = {}): Promise<void> {
  const op = openOp(checkOptions(options, false));
  await runOp(op, false, () => removeCheckpoint(op, name));
}
