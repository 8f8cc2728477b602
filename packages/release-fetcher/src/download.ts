import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { FetchError } from './errors.js';
import { type Progress, progressMeter } from './progress.js';

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
  fetch?: typeof fetch;
  signal?: AbortSignal;
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

/** Follows redirects by hand so private headers (the token) never reach another origin. */
async function fetchFollowing(f: typeof fetch, url: string, init: { headers: Record<string, string>; privateHeaders: Record<string, string>; signal?: AbortSignal }): Promise<Response> {
  const origin = new URL(url).origin;
  let current = url;
  for (let hop = 0; hop < 10; hop++) {
    const sameOrigin = new URL(current).origin === origin;
    const res = await f(current, { headers: { ...init.headers, ...(sameOrigin ? init.privateHeaders : {}) }, redirect: 'manual', signal: init.signal });
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      current = new URL(location, current).toString();
      continue;
    }
    return res;
  }
  throw new FetchError('FETCH_HTTP', `too many redirects from ${url}`);
}

async function hashPrefix(path: string, hash: Hash, bytes: number): Promise<void> {
  if (bytes === 0) return;
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1, highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
}

/**
 * Writes network chunks to the file in large blocks, one write in flight while the next block fills
 * (hashing and receiving overlap the disk), and starts writeback (fdatasync) every 64 MiB without
 * waiting for it, so the final flush before the rename has little left to do.
 */
class FileSink {
  readonly #fh: FileHandle;
  #parts: Uint8Array[] = [];
  #size = 0;
  #inFlight: Promise<unknown> = Promise.resolve();
  #sinceSync = 0;
  #syncing: Promise<unknown> = Promise.resolve();
  static readonly BLOCK = 8 << 20;
  static readonly SYNC_EVERY = 64 << 20;

  constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  async push(chunk: Uint8Array): Promise<void> {
    this.#parts.push(chunk);
    this.#size += chunk.byteLength;
    if (this.#size >= FileSink.BLOCK) await this.#flush();
  }

  async #flush(): Promise<void> {
    await this.#inFlight;
    if (this.#size === 0) return;
    const block = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#size);
    this.#sinceSync += this.#size;
    this.#parts = [];
    this.#size = 0;
    this.#inFlight = this.#fh.write(block).then(() => {
      if (this.#sinceSync >= FileSink.SYNC_EVERY) {
        this.#sinceSync = 0;
        this.#syncing = this.#syncing.then(() => this.#fh.datasync());
      }
    });
  }

  /** Writes what is buffered and waits until it is on disk. */
  async finish(): Promise<void> {
    await this.#flush();
    await this.#inFlight;
    await this.#syncing;
    await this.#fh.sync();
  }
}

const transient = (status: number) => status >= 500 || status === 408 || status === 429;

/**
 * Streams `url` into `partFile`, resuming across attempts and processes with `Range` + `If-Range`
 * (a 200 answer restarts, a 206 continues, a 416 with the full size means done), retrying network
 * errors and 5xx with backoff, and hashing as it goes. The caller verifies the digest and renames.
 */
export async function download(options: DownloadOptions): Promise<DownloadResult> {
  const f = options.fetch ?? fetch;
  const retries = options.retries ?? 5;
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
    let res: Response;
    try {
      res = await fetchFollowing(f, options.url, { headers, privateHeaders: options.privateHeaders ?? {}, signal: options.signal });
    } catch (e) {
      if (options.signal?.aborted) throw new FetchError('FETCH_ABORTED', 'download aborted', { cause: e });
      if (e instanceof FetchError || attempt >= retries) throw e instanceof FetchError ? e : new FetchError('FETCH_NETWORK', `download of ${options.url} failed: ${(e as Error).message}`, { cause: e });
      options.onRetry?.(e as Error, attempt + 1, have);
      await new Promise((r) => setTimeout(r, (options.backoff ?? 500) * 2 ** attempt));
      continue;
    }
    if (res.status === 416 && have > 0 && rec?.size === have) {
      await res.body?.cancel();
      const hash = createHash('sha256');
      await hashPrefix(options.partFile, hash, have);
      meter.finish(have, have);
      return { partFile: options.partFile, size: have, sha256: hash.digest('hex'), resumedFrom };
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      if (transient(res.status) && attempt < retries) {
        options.onRetry?.(new Error(`HTTP ${res.status}`), attempt + 1, have);
        await new Promise((r) => setTimeout(r, (options.backoff ?? 500) * 2 ** attempt));
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
        await res.body?.cancel();
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
      await res.body?.cancel();
      throw new FetchError('FETCH_HTTP', `${options.url} is ${total} bytes, expected ${options.expectedSize}`);
    }
    const hash = createHash('sha256');
    await hashPrefix(options.partFile, hash, start);
    const fh = await open(options.partFile, start > 0 ? 'a' : 'w');
    const sink = new FileSink(fh);
    let bytes = start;
    meter.restart(start);
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        await sink.push(chunk);
        bytes += chunk.byteLength;
        meter.update(bytes, total);
      }
      await sink.finish();
    } catch (e) {
      await sink.finish().catch(() => {});
      await fh.close();
      if (options.signal?.aborted) throw new FetchError('FETCH_ABORTED', 'download aborted; it resumes from where it stopped next time', { cause: e });
      if (attempt >= retries) throw new FetchError('FETCH_NETWORK', `download of ${options.url} failed at byte ${bytes}: ${(e as Error).message}`, { cause: e });
      options.onRetry?.(e as Error, attempt + 1, bytes);
      await new Promise((r) => setTimeout(r, (options.backoff ?? 500) * 2 ** attempt));
      continue;
    }
    await fh.close();
    if (total !== undefined && bytes !== total) {
      if (attempt >= retries) throw new FetchError('FETCH_NETWORK', `download of ${options.url} ended at byte ${bytes} of ${total}`);
      options.onRetry?.(new Error(`connection closed at byte ${bytes} of ${total}`), attempt + 1, bytes);
      continue;
    }
    meter.finish(bytes, total ?? bytes);
    return { partFile: options.partFile, size: bytes, sha256: hash.digest('hex'), resumedFrom };
  }
}

/** Removes a partial download and its record. */
export async function discardPart(partFile: string): Promise<void> {
  await rm(partFile, { force: true });
  await rm(record(partFile), { force: true });
}
