import { sleep } from '@stack/internal';
import { attemptOnce, type Attempt } from './download-attempt.js';
import type { DownloadOptions, DownloadResult } from './download-options.js';
import { FetchError, isFetchError } from './errors.js';
import { type Network, openNetwork } from './network.js';
import { resumableBytes } from './part-file.js';
import { progressMeter } from './progress.js';
import { backoffDelay } from './retry.js';

export type { DownloadOptions, DownloadResult } from './download-options.js';

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
    const { have, record } = await resumableBytes(options.partFile, options.url, options.onWarn);
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
