import { rm, stat } from 'node:fs/promises';
import { readJsonFile, writeFileAtomic } from '@stack/internal';
import { z } from 'zod';

/** The resume record beside a partial download (`<part>.json`): continued only for the same URL and remote version. */
const partRecordSchema = z
  .object({
    url: z.string(),
    /** A strong ETag (weak ones cannot validate a byte range: RFC 9110, 13.1.5). */
    etag: z.string().optional(),
    lastModified: z.string().optional(),
    /** Full size of the remote file, when the server said. */
    size: z.number().int().nonnegative().optional(),
  })
  .loose();

export type PartRecord = z.infer<typeof partRecordSchema>;

const recordPath = (part: string) => `${part}.json`;

/**
 * The record, when there is a valid one. A partial download is a cache (its bytes can be downloaded
 * again), so a torn, wrong-shaped or unreadable record reads as none and the part is discarded;
 * `warn` says so when a record was there but unusable.
 */
async function readPartRecord(part: string, warn?: (text: string) => void): Promise<PartRecord | undefined> {
  const file = recordPath(part);
  const r = await readJsonFile(file, partRecordSchema).catch((e: Error) => ({
    kind: 'invalid' as const,
    reason: `cannot be read: ${e.message}`,
  }));
  if (r.kind === 'invalid')
    warn?.(`${file} is not a valid resume record (${r.reason}): the partial download starts over, nothing to do`);
  return r.kind === 'ok' ? r.value : undefined;
}

/** Written before the bytes it describes (temp, fsync, rename), so a record never names another version's bytes. */
export async function writePartRecord(part: string, record: PartRecord): Promise<void> {
  await writeFileAtomic(recordPath(part), `${JSON.stringify(record)}\n`);
}

/** Bytes of the partial file that can be resumed for `url`; a part without a matching record is removed. */
export async function resumableBytes(
  part: string,
  url: string,
  warn?: (text: string) => void,
): Promise<{ have: number; record: PartRecord | undefined }> {
  const record = await readPartRecord(part, warn);
  const have = (await stat(part).catch(() => undefined))?.size ?? 0;
  if (record && record.url === url && (record.etag || record.lastModified)) return { have, record };
  if (have > 0 || record) await discardPart(part);
  return { have: 0, record: undefined };
}

/** Removes a partial download and its record. */
export async function discardPart(partFile: string): Promise<void> {
  await rm(partFile, { force: true });
  await rm(recordPath(partFile), { force: true });
}
