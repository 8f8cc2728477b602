import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { edgeDigest, sampledProblem } from './file-digest.js';
import { type CompatibilityKey, describeDifferences, diffKeys, parseKey } from './key.js';

/** A session's saved RAM and device state: only ever resumed against the disk as it was saved. */
export interface SessionRam {
  file: string;
  size: number;
  edgeSha256: string;
  /** The compatibility key of the VM that saved it (the same rules as a golden snapshot's). */
  key: CompatibilityKey;
  /** Share directories whose 9p devices were plugged (slot order): the resuming VM needs the same devices. */
  plugged: string[];
  savedAt: string;
  /**
   * Format `template-ram`: the guest's RAM is the session's own file (a clone of the golden template,
   * mapped shared, so the guest wrote it as it ran) and `file` holds the device state only.
   */
  memory?: { file: string; size: number; sampleSha256: string };
}

/** Why a saved RAM state cannot be resumed, or undefined when it can. */
export function ramMismatch(ram: SessionRam, key: CompatibilityKey): string | undefined {
  const d = diffKeys(ram.key, parseKey(key));
  return d.length ? describeDifferences(d) : undefined;
}

/**
 * What is wrong with a saved RAM state's files in `dir`, or undefined when they are as saved: the
 * state (size, first and last MiB) and, for a template's session, its RAM file (size, sampled digest).
 */
export async function savedRamProblem(dir: string, ram: SessionRam): Promise<string | undefined> {
  const file = join(dir, ram.file);
  const st = await stat(file).catch(() => undefined);
  if (!st) return 'missing';
  if (st.size !== ram.size) return `${st.size} bytes, saved ${ram.size}`;
  if ((await edgeDigest(file)) !== ram.edgeSha256) return 'its first or last MiB changed since it was saved';
  if (!ram.memory) return undefined;
  const problem = await sampledProblem(join(dir, ram.memory.file), ram.memory);
  if (problem === 'missing') return `its RAM file ${ram.memory.file} is missing`;
  return problem ? `its RAM file ${ram.memory.file} changed since it was saved` : undefined;
}
