import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { HttpResponse } from './http-request.js';
import type { PartRecord } from './part-file.js';

// What a download makes of a response's status and headers.

/** Statuses another attempt may get past. */
export const transientStatus = (s: number) => s >= 500 || s === 408 || s === 429;

/** Seconds of a Retry-After header (delta form only; a date form is treated as none). */
export function retryAfterMs(res: HttpResponse): number | undefined {
  const v = res.header('retry-after');
  return v && /^\d+$/.test(v) ? Number(v) * 1000 : undefined;
}

/** The resume record of a full (200) answer: its size and validator, if it has a strong one. */
export function record200(url: string, res: HttpResponse, total: number | undefined, decoded: boolean): PartRecord {
  const fresh: PartRecord = { url, ...(total !== undefined ? { size: total } : {}) };
  // A decoded body cannot be resumed by byte range: no validator, so the next attempt starts over.
  if (decoded) return fresh;
  const etag = res.header('etag');
  const lm = res.header('last-modified');
  // Weak ETags cannot validate a byte range (RFC 9110, 13.1.5).
  if (etag && !etag.startsWith('W/')) fresh.etag = etag;
  else if (lm) fresh.lastModified = lm;
  return fresh;
}

/** The decoder of a content-encoding, undefined when there is none for it. */
export function decoderFor(encoding: string): Transform | undefined {
  if (encoding === 'gzip' || encoding === 'x-gzip') return createGunzip();
  if (encoding === 'deflate') return createInflate();
  if (encoding === 'br') return createBrotliDecompress();
  return undefined;
}
