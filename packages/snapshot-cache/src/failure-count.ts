import { readJsonFile } from '@stack/internal';
import { z } from 'zod';

/** A snapshot's failures.json: its resumes that failed in a row, the last one's reason and when. */
const failuresSchema = z
  .object({ count: z.number().int().nonnegative(), last: z.string().optional(), at: z.string().optional() })
  .loose();

/**
 * How many resumes of a snapshot failed in a row so far. The count only delays a quarantine, so a
 * file that is missing, not valid or unreadable counts as none (counting starts again) rather than
 * failing the resume. Before, `null` crashed the failure's bookkeeping with a TypeError.
 */
export async function readFailureCount(file: string): Promise<number> {
  const r = await readJsonFile(file, failuresSchema).catch(() => undefined);
  return r?.kind === 'ok' ? r.value.count : 0;
}
