import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** sha256 of a file as 64 lowercase hex characters, read in 4 MiB chunks; `signal` stops the read. */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 4 << 20, signal })) h.update(c as Buffer);
  return h.digest('hex');
}
