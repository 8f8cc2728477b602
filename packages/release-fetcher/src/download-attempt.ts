import type { Worker } from 'node:worker_threads';
import { BodyFeed } from './body-feed.js';
import type { DownloadOptions, DownloadResult } from './download-options.js';
import { FetchError, isFetchError } from './errors.js';
import { FileSink, spawnSinkWorker } from './file-sink.js';
import { requestFollowing } from './http-request.js';
import type { Network } from './network.js';
import { discardPart, type PartRecord, writePartRecord } from './part-file.js';
import type { progressMeter } from './progress.js';
import { decoderFor, record200, retryAfterMs, transientStatus } from './response-headers.js';
import { watchRate } from './stall-guard.js';

/** The attempt ended with a complete file, or with an error saying whether another may help. */
export type Attempt = { done: DownloadResult } | { failed: FetchError; retryAfterMs?: number };

/** One request; the sink's worker boots while it is under way, and is stopped unless a sink took it. */
export async function attemptOnce(
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
