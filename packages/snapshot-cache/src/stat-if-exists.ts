import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';

/**
 * The file's stats, or undefined when it does not exist. Any other failure (EIO, EACCES, EMFILE) throws:
 * a file that cannot be read now is not a missing file, and must not be discarded as one.
 */
export async function statIfExists(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
