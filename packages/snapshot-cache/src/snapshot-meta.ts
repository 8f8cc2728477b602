import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { type CompatibilityKey, compatibilityKeySchema } from './key.js';
import { sessionFileName } from './session-ram.js';

export const SNAPSHOT_META = 'meta.json';

export interface SnapshotMeta {
  version: 1;
  key: CompatibilityKey;
  createdAt: string;
  state: { size: number; sha256: string; edgeSha256: string };
  /** Name of the frozen overlay paired with the RAM state, when the capture kept one. */
  disk?: string;
  /**
   * A template snapshot's guest RAM (format `template-ram`): the file the captured VM's memory lived
   * in, resumed by mapping it privately, never rewritten. `state` then holds the device state only.
   */
  ram?: { file: string; size: number; sampleSha256: string };
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const bytes = z.number().int().nonnegative();

/** A snapshot's meta.json (fields a newer version added are kept). */
const snapshotMetaSchema = z.looseObject({
  version: z.literal(1),
  key: compatibilityKeySchema,
  createdAt: z.string(),
  state: z.object({ size: bytes, sha256: sha256Hex, edgeSha256: sha256Hex }),
  disk: sessionFileName.optional(),
  ram: z.object({ file: sessionFileName, size: bytes, sampleSha256: sha256Hex }).optional(),
}) satisfies z.ZodType<SnapshotMeta>;

export interface SnapshotEntry {
  id: string;
  dir: string;
  meta: SnapshotMeta;
  /** The frozen disk the RAM belongs to; resume on a fresh overlay backed by it. */
  diskPath: string | undefined;
  /** A template snapshot's RAM file (see {@link SnapshotMeta.ram}). */
  ramPath: string | undefined;
}

export function entryOf(id: string, dir: string, meta: SnapshotMeta): SnapshotEntry {
  return {
    id,
    dir,
    meta,
    diskPath: meta.disk ? join(dir, meta.disk) : undefined,
    ramPath: meta.ram ? join(dir, meta.ram.file) : undefined,
  };
}

/**
 * The meta.json in `dir`: `'missing'` when there is none (not a snapshot, or removed meanwhile),
 * `'garbled'` when it is not JSON or not the schema. A file that cannot be read now (EIO...) throws.
 */
export async function readSnapshotMeta(dir: string): Promise<SnapshotMeta | 'missing' | 'garbled'> {
  let text: string;
  try {
    text = await readFile(join(dir, SNAPSHOT_META), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw e;
  }
  try {
    const r = snapshotMetaSchema.safeParse(JSON.parse(text));
    return r.success ? r.data : 'garbled';
  } catch {
    return 'garbled';
  }
}
