import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '@stack/internal';
import { SnapshotError } from './errors.js';
import { type SessionMeta } from './session-meta.js';
import { type SessionRam, sessionFileName, sessionRamSchema } from './session-ram.js';

const CHECKPOINT_META = 'meta.json';

/** What a session was when a checkpoint was saved from it; a restore makes a session of it again. */
export type CheckpointSession = Omit<SessionMeta, 'version' | 'running' | 'lastStop' | 'ram'>;

/**
 * A checkpoint's meta.json. The directory holds the disk chain under the session's names (image,
 * golden, layers; `top` the frozen disk), the RAM state (`ram.file`, and a template session's RAM
 * file), the image's boot files and the `files` the session carried (its base environment).
 */
export interface CheckpointMeta {
  version: 1;
  name: string;
  createdAt: string;
  /** The instance it was saved from. */
  instance: string;
  /** The frozen top of the disk chain (a file in the directory). */
  top: string;
  /** Other files of the session copied in (its base environment sidecar). */
  files: string[];
  session: CheckpointSession;
  ram: SessionRam;
}

const checkpointMetaSchema = z.looseObject({
  version: z.literal(1),
  name: z.string(),
  createdAt: z.string(),
  instance: z.string(),
  top: sessionFileName,
  files: z.array(sessionFileName),
  session: z.looseObject({
    createdAt: z.string(),
    origin: z.enum(['golden', 'image', 'adopted']),
    image: z.object({ digest: z.string(), choice: z.string() }),
    snapshotId: z.string().optional(),
    clientKey: z.string().optional(),
    secrets: z.enum(['fresh', 'placeholders', 'kept']).optional(),
  }),
  ram: sessionRamSchema,
}) satisfies z.ZodType<CheckpointMeta>;

/** The checkpoint in `dir`, undefined when there is none; throws SNAPSHOT_CORRUPT for a garbled meta.json. */
export async function readCheckpointMeta(dir: string): Promise<CheckpointMeta | undefined> {
  const path = join(dir, CHECKPOINT_META);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SnapshotError('SNAPSHOT_CORRUPT', `${path} is not JSON`, { cause: e });
  }
  const r = checkpointMetaSchema.safeParse(json);
  if (!r.success) throw new SnapshotError('SNAPSHOT_CORRUPT', `${path} is not a checkpoint's: ${r.error.message}`);
  return r.data;
}

/** Writes meta.json (0600) into a checkpoint being built; it is synced with the tree. */
export async function writeCheckpointMeta(dir: string, meta: CheckpointMeta): Promise<void> {
  await writeFileAtomic(join(dir, CHECKPOINT_META), `${JSON.stringify(meta, null, 2)}\n`, {
    mode: 0o600,
    fsync: false,
  });
}
