import { fdatasync } from 'node:fs';
import { open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { sha256File } from './digest.js';
import { FetchError } from './errors.js';
import { httpGetFollowing, type HttpGetResponse } from './http-get.js';
import { type Progress, progressMeter } from './progress.js';
import { SinkError, type SinkResult, SinkThreads } from './sink-threads.js';

export interface DownloadOptions {
  url: string;
  /** Sent to the first URL's origin only (e.g. Authorization): dropped when a redirect leaves it. */
  privateHeaders?: Record<string, string>;
  /** Sent everywhere (e.g. Accept). */
  headers?: Record<string, string>;
  /** Where the bytes go while downloading; a `<partFile>.json` record beside it allows resuming. */
  partFile: string;
  /** Expected size, when known (a mismatch fails before hashing). */
  expectedSize?: number;
  /** Extra trusted CA certificates (PEM) for https. @default the system's only */
  ca?: string | Buffer;
  signal?: AbortSignal;
  /** Give up on a connection that sends nothing for this long, in ms. @default 30000 */
  timeout?: number;
  /** Attempts after a network error or 5xx, with exponential backoff. @default 5 */
  retries?: number;
  /** First backoff delay in ms. @default 500 */
  backoff?: number;
  onProgress?: (p: Progress) => void;
  /** Called when an attempt fails and another follows. */
  onRetry?: (error: Error, attempt: number, resumeAt: number) => void;
}

export interface DownloadResult {
  partFile: string;
  size: number;
  sha256: string;
  /** Bytes that were already there from an earlier attempt or process. */
  resumedFrom: number;
}

/** The resume record: a partial file is only continued for the same URL and the same remote version. */
interface PartRecord {
  url: string;
  etag?: string;
  lastModified?: string;
  size?: number;
}

const record = (part: string) => `${part}.json`;

async function readRecord(part: string): Promise<PartRecord | undefined> {
  try {
    return JSON.parse(await readFile(record(part), 'utf8')) as PartRecord;
  } catch {
    return undefined;
  }
}

/**
 * Starts a flush of what is written so far every 64 MiB without waiting for it, so the disk works
 * while the download goes on and the final fsync before the rename has little left to do.
 */
function writeback(fd: number): { wrote(bytes: number): void; settle(): Promise<void> } {
  let since = 0;
  let inFlight: Promise<void> | undefined;
  return {
    wrote(bytes) {
      since += bytes;
      if (since < 64 << 20 || inFlight) return;
      since = 0;
      // An error here (EIO, ENOSPC) comes back from the final fsync, which is checked.
      inFlight = new Promise<void>((resolve) => fdatasync(fd, () => resolve())).finally(() => {
        inFlight = undefined;
      });
    },
    async settle() {
      await inFlight;
    },
  };
}

const transient = (status: number) => status >= 500 || status === 408 || status === 429;

/**
 * Streams `url` into `partFile`, resuming across attempts and processes with `Range` + `If-Range`
 * (a 200 answer restarts, a 206 continues, a 416 with the full size means done), retrying network
 * errors and 5xx with backoff, and hashing as it goes. The caller verifies the digest and renames.
 */
export async function download(options: DownloadOptions): Promise<DownloadResult> {
  const retries = options.retries ?? 5;
  const pause = (attempt: number) => new Promise((r) => setTimeout(r, (options.backoff ?? 500) * 2 ** attempt));
  const meter = progressMeter(options.onProgress);
  let resumedFrom = -1;
  for (let attempt = 0; ; attempt++) {
    const rec = await readRecord(options.partFile);
    let have = (await stat(options.partFile).catch(() => undefined))?.size ?? 0;
    if (!rec || rec.url !== options.url || !(rec.etag || rec.lastModified)) {
      if (have > 0) await rm(options.partFile, { force: true });
      have = 0;
    }
    if (resumedFrom < 0) resumedFrom = have;
    const headers: Record<string, string> = { ...options.headers };
    if (have > 0) {
      headers.range = `bytes=${have}-`;
      headers['if-range'] = (rec!.etag ?? rec!.lastModified)!;
    }
    // The bytes are written and hashed on two other threads (this one only receives). They boot while
    // the request is under way, and stop in the finally unless the body began.
    const sinks = new SinkThreads(options.partFile);
    let begun = false;
    try {
      let res: HttpGetResponse;
      try {
        res = await httpGetFollowing(options.url, { headers, privateHeaders: options.privateHeaders ?? {}, signal: options.signal, timeout: options.timeout, ca: options.ca, readInto: sinks.reserve });
      } catch (e) {
        if (options.signal?.aborted) throw new FetchError('FETCH_ABORTED', 'download aborted', { cause: e });
        const err = e as FetchError;
        if (err.code !== 'FETCH_NETWORK' || attempt >= retries) throw err.code === 'FETCH_NETWORK' ? new FetchError('FETCH_NETWORK', `download of ${options.url} failed: ${err.message}`, { cause: e }) : e;
        options.onRetry?.(e as Error, attempt + 1, have);
        await pause(attempt);
        continue;
      }
      if (res.status === 416 && have > 0 && rec?.size === have) {
        res.cancel();
        const sha256 = await sha256File(options.partFile, options.signal);
        meter.finish(have, have);
        return { partFile: options.partFile, size: have, sha256, resumedFrom };
      }
      if (res.status !== 200 && res.status !== 206) {
        res.cancel();
        if (transient(res.status) && attempt < retries) {
          options.onRetry?.(new Error(`HTTP ${res.status}`), attempt + 1, have);
          await pause(attempt);
          continue;
        }
        if (res.status === 416) {
          await discardPart(options.partFile);
          continue;
        }
        throw new FetchError('FETCH_HTTP', `download of ${options.url} failed: HTTP ${res.status} ${res.statusText}`, { status: res.status });
      }
      let start = 0;
      let total: number | undefined;
      if (res.status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
        if (!m || Number(m[1]) !== have) {
          // The server sent a different range than asked: start over rather than splice wrong bytes.
          res.cancel();
          await discardPart(options.partFile);
          if (attempt >= retries) throw new FetchError('FETCH_HTTP', `server answered a range other than bytes=${have}-`);
          continue;
        }
        start = have;
        total = m[3] === '*' ? undefined : Number(m[3]);
      } else {
        const len = res.headers.get('content-length');
        total = len ? Number(len) : undefined;
        const fresh: PartRecord = { url: options.url, size: total };
        const etag = res.headers.get('etag');
        const lm = res.headers.get('last-modified');
        // Weak ETags cannot validate a byte range (RFC 9110, 13.1.5): only strong ones go in If-Range.
        if (etag && !etag.startsWith('W/')) fresh.etag = etag;
        else if (lm) fresh.lastModified = lm;
        await writeFile(record(options.partFile), `${JSON.stringify(fresh)}\n`);
      }
      if (options.expectedSize !== undefined && total !== undefined && total !== options.expectedSize) {
        res.cancel();
        throw new FetchError('FETCH_HTTP', `${options.url} is ${total} bytes, expected ${options.expectedSize}`);
      }
      const fh = await open(options.partFile, start > 0 ? 'r+' : 'w');
      sinks.begin(fh.fd, start);
      begun = true;
      const flusher = writeback(fh.fd);
      let bytes = start;
      meter.restart(start);
      let result: SinkResult | undefined;
      let failure: unknown;
      try {
        // The chunks are views of the ring the socket reads into (readInto): push() only publishes them.
        await res.pipe((chunk) => {
          if (!sinks.push(chunk)) throw new FetchError('FETCH_DISK', 'a download thread failed'); // finish() says why
          bytes += chunk.byteLength;
          flusher.wrote(chunk.byteLength);
          meter.update(bytes, total);
        });
      } catch (e) {
        failure = e;
      }
      try {
        // Also after a network error: what was received is written (kept for the resume) before the retry.
        result = await sinks.finish();
        await fh.sync();
      } catch (e) {
        // The disk refused the bytes (full, read-only, I/O error): retrying the network cannot help.
        failure = new FetchError('FETCH_DISK', `cannot write ${options.partFile}${e instanceof SinkError ? ` at byte ${e.at}` : ''}: ${(e as Error).message}; free some space (or fix the disk) and pull again: it resumes from there`, { cause: e });
      } finally {
        await flusher.settle(); // an fdatasync may still be running on the descriptor
        await fh.close();
      }
      if (failure !== undefined) {
        const err = failure as FetchError;
        if (err.code === 'FETCH_DISK') throw err;
        if (err.code === 'FETCH_ABORTED' || options.signal?.aborted) throw new FetchError('FETCH_ABORTED', 'download aborted; it resumes from where it stopped next time', { cause: failure });
        if (err.code === 'FETCH_PROTOCOL' || attempt >= retries) throw new FetchError(err.code === 'FETCH_PROTOCOL' ? 'FETCH_PROTOCOL' : 'FETCH_NETWORK', `download of ${options.url} failed at byte ${bytes}: ${err.message}`, { cause: failure });
        options.onRetry?.(err, attempt + 1, bytes);
        await pause(attempt);
        continue;
      }
      if (total !== undefined && bytes !== total) {
        if (attempt >= retries) throw new FetchError('FETCH_NETWORK', `download of ${options.url} ended at byte ${bytes} of ${total}`);
        options.onRetry?.(new Error(`connection closed at byte ${bytes} of ${total}`), attempt + 1, bytes);
        continue;
      }
      meter.finish(bytes, total ?? bytes);
      return { partFile: options.partFile, size: result!.size, sha256: result!.sha256, resumedFrom };
    } finally {
      if (!begun) await sinks.close();
    }
  }
}

/** Removes a partial download and its record. */
export async function discardPart(partFile: string): Promise<void> {
  await rm(partFile, { force: true });
  await rm(record(partFile), { force: true });
}
