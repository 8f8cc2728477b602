import { sleep } from '@stack/internal';
import { FetchError, isFetchError } from './errors.js';

/** Delay before attempt `attempt + 1`: `base` × 2^attempt with ±25 % jitter, at most 30 s. */
export function backoffDelay(attempt: number, base: number, random: () => number = Math.random): number {
  const d = Math.min(30_000, base * 2 ** attempt);
  return Math.round(d * (0.75 + random() * 0.5));
}

/** Runs `fn` again after a backoff while it fails with a retryable FetchError, `retries` times at most. */
export async function withRetries<T>(
  fn: () => Promise<T>,
  options: { retries: number; backoff?: number; signal?: AbortSignal },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isFetchError(e) || !e.retryable || attempt >= options.retries || options.signal?.aborted) throw e;
      await sleep(backoffDelay(attempt, options.backoff ?? 500), options.signal).catch(() => {
        throw new FetchError('FETCH_ABORTED', 'aborted', { cause: e });
      });
    }
  }
}
