import type { Op } from '../context/op.js';
import { checkpointInfo, type CheckpointInfo, openCheckpoints, readCheckpoint } from './checkpoints.js';

/** Every checkpoint of the home, by name. */
export async function listCheckpoints(op: Op): Promise<CheckpointInfo[]> {
  return (await (await openCheckpoints(op.config)).list()).map(checkpointInfo);
}

/**
 * Removes checkpoint `name` (CHECKPOINT_NOT_FOUND, listing the others, when there is none). Sessions
 * restored from it keep running: their disk chain holds its own links of the files.
 */
export async function removeCheckpoint(op: Op, name: string): Promise<void> {
  const store = await openCheckpoints(op.config);
  await readCheckpoint(store, name);
  await store.remove(name);
}
