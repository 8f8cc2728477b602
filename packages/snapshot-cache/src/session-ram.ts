import { join } from 'node:path';
import { z } from 'zod';
import { stat } from 'node:fs/promises';
import { edgeDigest, sampledProblem, sampledRecord } from './file-digest.js';
import { statIfExists } from './stat-if-exists.js';
import { type CompatibilityKey, compatibilityKeySchema, describeDifferences, diffKeys, parseKey } from './key.js';

/** A file name inside the session directory (never a path: files named in meta.json get deleted). */
export const sessionFileName = z.string().regex(/^(?!\.\.?$)[^/\\\0]+$/, 'a file name inside the session');

/** A session's saved RAM and device state: only ever resumed against the disk as it was saved. */
export interface SessionRam {
  file: string;
  size: number;
  edgeSha256: string;
  /** The compatibility key of the VM that saved it (the same rules as a golden snapshot's). */
  key: CompatibilityKey;
  /** Share directories whose 9p devices were plugged (slot order): the resuming VM needs the same devices. */
  plugged: string[];
  /** Those of `plugged` mounted read-only in the guest (`--share-readonly`): mounted so again at the resume. @default none */
  readonly?: string[];
  savedAt: string;
  /**
   * Format `template-ram`: the guest's RAM is the session's own file (a clone of the golden template,
   * mapped shared, so the guest wrote it as it ran) and `file` holds the device state only.
   */
  memory?: { file: string; size: number; sampleSha256: string };
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const sessionRamSchema = z.object({
  file: sessionFileName,
  size: z.number().int().nonnegative(),
  edgeSha256: sha256Hex,
  key: compatibilityKeySchema,
  plugged: z.array(z.string()),
  readonly: z.array(z.string()).optional(),
  savedAt: z.string(),
  memory: z.object({ file: sessionFileName, size: z.number().int().nonnegative(), sampleSha256: sha256Hex }).optional(),
}) satisfies z.ZodType<SessionRam>;

/** Why a saved RAM state cannot be resumed, or undefined when it can. */
export function ramMismatch(ram: SessionRam, key: CompatibilityKey): string | undefined {
  const d = diffKeys(ram.key, parseKey(key));
  return d.length ? describeDifferences(d) : undefined;
}

/**
 * What is wrong with a saved RAM state's files in `dir`, or undefined when they are as saved: the
 * state (size, first and last MiB) and, for a template's session, its RAM file (size, sampled digest).
 * A file that cannot be read (EIO, EMFILE...) throws: that is no reason to discard the state.
 */
export async function savedRamProblem(dir: string, ram: SessionRam): Promise<string | undefined> {
  const file = join(dir, ram.file);
  const st = await statIfExists(file);
  if (!st) return 'missing';
  if (st.size !== ram.size) return `${st.size} bytes, saved ${ram.size}`;
  if ((await edgeDigest(file)) !== ram.edgeSha256) return 'its first or last MiB changed since it was saved';
  if (!ram.memory) return undefined;
  const problem = await sampledProblem(join(dir, ram.memory.file), ram.memory);
  if (problem === 'missing') return `its RAM file ${ram.memory.file} is missing`;
  return problem ? `its RAM file ${ram.memory.file} changed since it was saved` : undefined;
}

/**
 * The record of a RAM state written to `dir/file` (and, for a template session, its RAM file
 * `memoryFile` beside it), as a session or a checkpoint names it once the files are synced.
 */
export async function recordRam(
  dir: string,
  o: {
    file: string;
    key: CompatibilityKey;
    plugged: string[];
    readonly?: string[];
    savedAt: string;
    memoryFile?: string;
  },
): Promise<SessionRam> {
  const path = join(dir, o.file);
  const memory = o.memoryFile ? { file: o.memoryFile, ...(await sampledRecord(join(dir, o.memoryFile))) } : undefined;
  return {
    file: o.file,
    size: (await stat(path)).size,
    edgeSha256: await edgeDigest(path),
    key: parseKey(o.key),
    plugged: o.plugged,
    ...(o.readonly?.length ? { readonly: o.readonly } : {}),
    savedAt: o.savedAt,
    ...(memory ? { memory } : {}),
  };
}
