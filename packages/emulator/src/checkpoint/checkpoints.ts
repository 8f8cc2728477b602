import { CheckpointStore, isCheckpointName, type CheckpointEntry, type CheckpointMeta } from '@stack/snapshot-cache';
import { processIdentity } from '@stack/internal';
import type { EmulatorConfig } from '../config/resolve-config.js';
import { EmulatorError } from '../errors.js';

/** The home's checkpoint store, after clearing what a killed command left in it. */
export async function openCheckpoints(config: EmulatorConfig): Promise<CheckpointStore> {
  const store = new CheckpointStore(config.paths.checkpoints);
  await store.sweep((pid) => processIdentity(pid)?.alive === true);
  return store;
}

/** `name` when it can name a checkpoint; CONFIG_INVALID naming the rule otherwise. */
export function checkpointName(name: string): string {
  if (!isCheckpointName(name))
    throw new EmulatorError('CONFIG_INVALID', `not a checkpoint name: ${JSON.stringify(name)}`, {
      hint: 'use 1-64 characters of a-z, 0-9, ".", "_" and "-", starting with a letter or digit (e.g. `base`, `seeded-v2`)',
    });
  return name;
}

/** Checkpoint `name`, or CHECKPOINT_NOT_FOUND listing the ones there are. */
export async function readCheckpoint(store: CheckpointStore, name: string): Promise<CheckpointMeta> {
  const meta = await store.read(checkpointName(name));
  if (meta) return meta;
  const names = (await store.list()).map((c) => c.name);
  throw new EmulatorError('CHECKPOINT_NOT_FOUND', `no checkpoint named ${name} in ${store.dir}`, {
    hint: names.length
      ? `the checkpoints there are: ${names.join(', ')}`
      : 'there are none yet: `stack-emulator checkpoint save <name>` saves the running instance',
  });
}

/** What `checkpoint list` shows of one. */
export interface CheckpointInfo {
  name: string;
  /** The instance it was saved from. */
  instance: string;
  /** The image choice it runs on (`reference`, `stack`, `path:<file>`) and its digest. */
  image: { choice: string; digest: string };
  createdAt: string;
  /** Allocated bytes of its files (shared with sessions through hard links: not all of it is its own). */
  bytes: number;
  /** The snapshot format of its RAM state. */
  format: string;
}

export const checkpointInfo = (c: CheckpointEntry): CheckpointInfo => ({
  name: c.name,
  instance: c.meta.instance,
  image: { choice: c.meta.session.image.choice, digest: c.meta.session.image.digest },
  createdAt: c.meta.createdAt,
  bytes: c.bytes,
  format: c.meta.ram.key.format,
});
