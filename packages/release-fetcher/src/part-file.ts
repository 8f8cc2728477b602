import { readFile, rm, stat, writeFile } from 'node:fs/promises';

/** The resume record beside a partial download: continued only for the same URL and remote version. */
export interface PartRecord {
  url: string;
  /** A strong ETag (weak ones cannot validate a byte range: RFC 9110, 13.1.5). */
  etag?: string;
  lastModified?: string;
  /** Full size of the remote file, when the server said. */
  size?: number;
}

const recordPath = (part: string) => `${part}.json`;

async function readPartRecord(part: string): Promise<PartRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(recordPath(part), 'utf8')) as PartRecord;
    return typeof r.url === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** A torn record (a crash mid-write) reads as none, and the download starts over: no temp file needed. */
export async function writePartRecord(part: string, record: PartRecord): Promise<void> {
  await writeFile(recordPath(part), `${JSON.stringify(record)}\n`);
}

/** Bytes of the partial file that can be resumed for `url`; a part without a matching record is removed. */
export async function resumableBytes(
  part: string,
  url: string,
): Promise<{ have: number; record: PartRecord | undefined }> {
  const record = await readPartRecord(part);
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
