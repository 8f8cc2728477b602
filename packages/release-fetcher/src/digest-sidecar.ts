import { parseSha256Sidecar } from './digest.js';
import { FetchError } from './errors.js';
import { readText, requestFollowing } from './http-request.js';
import type { Network } from './network.js';
import { withRetries } from './retry.js';

/** A published `sha256sum` sidecar: its digest for `name`, undefined when there is none (404/410). */
export async function fetchSidecar(
  network: Network,
  url: string,
  name: string,
  options: { signal?: AbortSignal; headers?: Record<string, string>; privateHeaders?: Record<string, string> },
): Promise<string | undefined> {
  return withRetries(
    async () => {
      const res = await requestFollowing(url, {
        network,
        headers: options.headers,
        privateHeaders: options.privateHeaders,
        signal: options.signal,
      });
      if (res.status === 404 || res.status === 410) {
        res.discard();
        return undefined;
      }
      if (res.status !== 200) {
        res.discard();
        throw new FetchError('FETCH_HTTP', `the digest sidecar ${url} answered ${res.status}`, {
          status: res.status,
          url,
          retryable: res.status >= 500 || res.status === 429,
        });
      }
      const digest = parseSha256Sidecar(await readText(res, 64 * 1024), name);
      if (!digest)
        throw new FetchError('FETCH_BAD_SOURCE', `the digest sidecar ${url} names no sha256 for ${name}`, { url });
      return digest;
    },
    { retries: 2, signal: options.signal },
  );
}
