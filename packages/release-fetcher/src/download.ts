import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { FetchError, isFetchError } from './errors.js';
import { BodyFeed } from './body-feed.js';
import type { Worker } from 'node:worker_threads';
import { FileSink, spawnSinkWorker } from './file-sink.js';
import { type HttpResponse, requestFollowing } from './http-request.js';
import { type Network, type NetworkOptions, openNetwork } from './network.js';
import { discardPart, type PartRecord, resumableBytes, writePartRecord } from './part-file.js';
import { type Progress, progressMeter } from './progress.js';
import { backoffDelay } from './retry.js';
import { sleep } from '@stack/internal';
import { type StallPolicy, watchRate } from './stall-guard.js';

export interface DownloadOptions extends NetworkOptions {
  url: string;
  /** An opened network to reuse (see openNetwork). @default one opened for this call from the NetworkOptions */
  network?: Network;
  /** Sent to the first URL's origin only (e.g. Authorization): dropped when a redirect leaves it. */
  privateHeaders?: Record<string, string>;
  /** Sent everywhere (e.g. Accept). */
  headers?: Record<string, string>;
  /** Where the bytes go while downloading; a `<partFile>.json` record beside it allows resuming. */
  partFile: string;
  /** Expected size, when known (a mismatch fails before any byte is written). */
  expectedSize?: number;
  signal?: AbortSignal;
  /** Stall detection: nothing, or too little, for `windowMs` fails the attempt. @default 30 s, 1 KiB/s */
  stall?: StallPolicy;
  /** Attempts after a failure that may pass (resets, 5xx, 408/429, stalls, repeated 416). @default 5 */
  retries?: number;
  /** First backoff delay in ms, doubled each attempt (with jitter), at most 30 s. @default 500 */
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

/** The attempt ended with a complete file, or with an error saying whether another may help. */
type Attempt = { done: DownloadResult } | { failed: FetchError; retryAfterMs?: number };

const transientStatus = (s: number) => s >= 500 || s === 408 || s === 429;

/** Seconds of a Retry-After header (delta form only; a date form is treated as none). */
function retryAfterMs(res: HttpResponse): number | undefined {
  const v = res.header('retry-after');
  return v && /^\d+$/.test(v) ? Number(v) * 1000 : undefined;
}

/**
 * Streams `url` into `partFile`, resuming across attempts and processes with `Range` + `If-Range`
 * (a 200 restarts, a 206 continues, a 416 with the recorded size means done), retrying what may
 * pass with backoff, hashing as it goes. The caller verifies the digest and renames.
 */
export async function download(options: DownloadOptions): Promise<DownloadResult> {
  if (options.network) return downloadWith(options.network, options);
  const network = await openNetwork(options);
  try {
    return await downloadWith(network, options);
  } finally {
    await network.close();
  }
}

async function downloadWith(network: Network, options: DownloadOptions): Promise<DownloadResult> {
  const retries = options.retries ?? 5;
  const meter = progressMeter(options.onProgress);
  let resumedFrom: number | undefined;
  for (let attempt = 0; ; attempt++) {
    const { have, record } = await resumableBytes(options.partFile, options.url);
    resumedFrom ??= have;
    const r = await attemptOnce(network, options, have, record, meter).catch((e: unknown): Attempt => ({
      failed: isFetchError(e)
        ? e
        : new FetchError('FETCH_NETWORK', (e as Error).message, { cause: e, url: options.url }),
    }));
    if ('done' in r) return { ...r.done, resumedFrom };
    const err = r.failed;
    if (options.signal?.aborted)
      throw new FetchError('FETCH_ABORTED', 'download aborted; it resumes from where it stopped next time', {
        cause: err,
        url: options.url,
      });
    if (!err.retryable || attempt >= retries) {
      if (!err.retryable || attempt === 0) throw err;
      throw new FetchError(err.code, `${err.message} (gave up after ${attempt + 1} attempts)`, {
        cause: err,
        url: err.url,
        status: err.status,
      });
    }
    const at = (await resumableBytes(options.partFile, options.url)).have;
    options.onRetry?.(err, attempt + 1, at);
    await sleep(
      Math.max(backoffDelay(attempt, options.backoff ?? 500), Math.min(r.retryAfterMs ?? 0, 60_000)),
      options.signal,
    ).catch(() => {
      throw new FetchError('FETCH_ABORTED', 'download aborted; it resumes from where it stopped next time', {
        url: options.url,
      });
    });
  }
}

/** One request; the sink's worker boots while it is under way, and is stopped unless a sink took it. */
async function attemptOnce(
  network: Network,
  options: DownloadOptions,
  have: number,
  record: PartRecord | undefined,
  meter: ReturnType<typeof progressMeter>,
): Promise<Attempt> {
  const worker = { pending: spawnSinkWorker() as Worker | undefined };
  try {
    return await attemptWith(worker, network, options, have, record, meter);
  } finally {
    await worker.pending?.terminate();
  }
}

async function attemptWith(
  worker: { pending: Worker | undefined },
  network: Network,
  options: DownloadOptions,
  have: number,
  record: PartRecord | undefined,
  meter: ReturnType<typeof progressMeter>,
): Promise<Attempt> {
  /** Hands the booting worker to a sink (which then owns it). */
  const take = () => {
    const w = worker.pending!;
    worker.pending = undefined;
    return w;
  };
  const stall = options.stall ?? {};
  // The digest is of the file itself: ask for it unencoded (a server that encodes anyway is decoded below).
  const headers: Record<string, string> = { 'accept-encoding': 'identity', ...options.headers };
  if (have > 0 && record) {
    headers.range = `bytes=${have}-`;
    headers['if-range'] = (record.etag ?? record.lastModified)!;
  }
  // One controller per attempt: the stall watcher aborts it without touching the caller's signal.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const windowMs = stall.windowMs ?? 30_000;
  const res = await requestFollowing(options.url, {
    network,
    headers,
    privateHeaders: options.privateHeaders,
    signal,
    headersTimeout: windowMs,
    bodyTimeout: windowMs,
  });
  const where = res.url === options.url ? options.url : `${options.url} (from ${new URL(res.url).host})`;

  if (res.status === 416) {
    res.discard();
    if (have > 0 && record?.size === have) {
      const sink = await FileSink.open(options.partFile, have, take());
      const done = await sink.finish().finally(() => sink.close());
      meter.finish(have, have);
      return { done: { partFile: options.partFile, ...done, resumedFrom: have } };
    }
    // The part does not fit the remote file: start over, but never loop on a server that always says 416.
    await discardPart(options.partFile);
    return {
      failed: new FetchError('FETCH_HTTP', `${where} answered 416 (range not satisfiable) to bytes=${have}-`, {
        status: 416,
        url: options.url,
        retryable: true,
      }),
    };
  }
  if (res.status !== 200 && res.status !== 206) {
    res.discard();
    const status = res.status;
    if (transientStatus(status))
      return {
        failed: new FetchError('FETCH_HTTP', `${where} answered ${status}`, {
          status,
          url: options.url,
          retryable: true,
        }),
        retryAfterMs: retryAfterMs(res),
      };
    if (status === 404)
      return {
        failed: new FetchError('FETCH_NOT_FOUND', `${where} answered 404 (not found)`, { status, url: options.url }),
      };
    if (status === 401 || status === 403)
      return {
        failed: new FetchError(
          status === 401 ? 'FETCH_UNAUTHORIZED' : 'FETCH_FORBIDDEN',
          `${where} answered ${status}: the link may have expired or needs credentials; pull again to get a fresh one`,
          { status, url: options.url },
        ),
      };
    return { failed: new FetchError('FETCH_HTTP', `${where} answered ${status}`, { status, url: options.url }) };
  }

  const encoding = (res.header('content-encoding') ?? 'identity').toLowerCase();
  const decoder = encoding === 'identity' ? undefined : decoderFor(encoding);
  if (encoding !== 'identity' && (!decoder || res.status === 206)) {
    res.discard();
    if (res.status === 206) {
      // A range of encoded bytes cannot continue a decoded file: start over.
      await discardPart(options.partFile);
      return {
        failed: new FetchError('FETCH_PROTOCOL', `${where} answered a range with content-encoding ${encoding}`, {
          url: options.url,
          retryable: true,
        }),
      };
    }
    return {
      failed: new FetchError(
        'FETCH_PROTOCOL',
        `${where} sent content-encoding ${encoding}, which this client cannot decode`,
        { url: options.url },
      ),
    };
  }
  let start = 0;
  let total: number | undefined;
  if (res.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.header('content-range') ?? '');
    if (!m || Number(m[1]) !== have) {
      // A different range than asked: start over rather than splice wrong bytes.
      res.discard();
      await discardPart(options.partFile);
      return {
        failed: new FetchError(
          'FETCH_HTTP',
          `${where} answered a range (${res.header('content-range') ?? 'none'}) other than bytes=${have}-`,
          { status: 206, url: options.url, retryable: true },
        ),
      };
    }
    start = have;
    total = m[3] === '*' ? undefined : Number(m[3]);
  } else {
    // No size when chunked; an encoded body's length is not the file's.
    const len = decoder ? undefined : res.header('content-length');
    total = len && /^\d+$/.test(len) ? Number(len) : undefined;
  }
  if (options.expectedSize !== undefined && total !== undefined && total !== options.expectedSize) {
    res.discard();
    return {
      failed: new FetchError('FETCH_HTTP', `${where} is ${total} bytes, expected ${options.expectedSize}`, {
        url: options.url,
      }),
    };
  }

  // The body flows from here on, also while the record and the file are written (see BodyFeed).
  const feed = BodyFeed.start(res, decoder);
  let sink: FileSink;
  try {
    if (res.status === 200)
      await writePartRecord(options.partFile, record200(options.url, res, total, decoder !== undefined));
    sink = await FileSink.open(options.partFile, start, take());
  } catch (e) {
    feed.abort();
    throw e;
  }
  meter.restart(start);
  let stalled: string | undefined;
  const watcher = watchRate(
    stall,
    () => sink.size,
    (why) => {
      stalled = why;
      stop.abort();
    },
  );
  try {
    await feed.into(sink, (bytes) => meter.update(bytes, total));
  } catch (e) {
    // What arrived is kept (written, not synced) for the next attempt to resume from.
    await sink.close();
    if (isFetchError(e) && e.code === 'FETCH_DISK') throw e;
    if (stalled)
      return {
        failed: new FetchError('FETCH_STALLED', `download of ${where} stalled at byte ${sink.size}: ${stalled}`, {
          cause: e,
          url: options.url,
          retryable: true,
        }),
      };
    const err = res.classify(e);
    return {
      failed: new FetchError(err.code, `download of ${where} failed at byte ${sink.size}: ${err.message}`, {
        cause: e,
        url: options.url,
        retryable: err.retryable,
        status: err.status,
      }),
    };
  } finally {
    watcher.stop();
  }
  const done = await sink.finish().finally(() => sink.close());
  if (total !== undefined && done.size !== total) {
    return {
      failed: new FetchError('FETCH_NETWORK', `download of ${where} ended at byte ${done.size} of ${total}`, {
        url: options.url,
        retryable: true,
      }),
    };
  }
  meter.finish(done.size, total ?? done.size);
  return { done: { partFile: options.partFile, ...done, resumedFrom: start } };
}

/** The resume record of a full (200) answer: its size and validator, if it has a strong one. */
function record200(url: string, res: HttpResponse, total: number | undefined, decoded: boolean): PartRecord {
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

function decoderFor(encoding: string): Transform | undefined {
  if (encoding === 'gzip' || encoding === 'x-gzip') return createGunzip();
  if (encoding === 'deflate') return createInflate();
  if (encoding === 'br') return createBrotliDecompress();
  return undefined;
}
