import type { request } from 'undici';
import { classifyError } from './classify-error.js';
import { FetchError } from './errors.js';
import type { Network } from './network.js';

type BodyReadable = Awaited<ReturnType<typeof request>>['body'];

export interface HttpRequestOptions {
  network: Network;
  /** Sent on every hop (e.g. Accept). */
  headers?: Record<string, string>;
  /** Sent to the first URL's origin only (e.g. Authorization): dropped once a redirect leaves it. */
  privateHeaders?: Record<string, string>;
  signal?: AbortSignal;
  /** No response head within this many ms fails the request (FETCH_STALLED). @default 30000 */
  headersTimeout?: number;
  /** No body byte for this many ms fails the body (FETCH_STALLED). @default 30000 */
  bodyTimeout?: number;
  /** @default 10 */
  maxRedirects?: number;
}

export interface HttpResponse {
  /** The URL that answered, after redirects. */
  url: string;
  status: number;
  /** A response header (lower-case name), the first value when repeated. */
  header(name: string): string | undefined;
  /** The body stream (undici's): read it, or `discard()` it. */
  body: BodyReadable;
  /** Drops the body without reading it; the connection is closed. */
  discard(): void;
  /** What a failure while reading the body means, as a FetchError (see classifyError). */
  classify(e: unknown): FetchError;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Destroys a body nobody reads; undici then emits 'Request aborted', which must not go unhandled. */
function drop(body: BodyReadable): void {
  body.on('error', () => {});
  body.destroy();
}

/**
 * One GET through undici, following redirects by hand: private headers never reach another origin,
 * and a redirect from https to http is refused (it would hand the download to anyone on the path).
 */
export async function requestFollowing(url: string, options: HttpRequestOptions): Promise<HttpResponse> {
  const origin = new URL(url).origin;
  let current = new URL(url);
  const max = options.maxRedirects ?? 10;
  for (let hop = 0; ; hop++) {
    const same = current.origin === origin;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await options.network.request(current, {
        method: 'GET',
        dispatcher: options.network.dispatcher,
        headers: { ...options.headers, ...(same ? options.privateHeaders : {}) },
        signal: options.signal,
        headersTimeout: options.headersTimeout ?? 30_000,
        bodyTimeout: options.bodyTimeout ?? 30_000,
      });
    } catch (e) {
      throw classifyError(e, current.href, { proxy: options.network.proxy, signal: options.signal });
    }
    const header = (name: string) => {
      const v = res.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const location = header('location');
    if (REDIRECTS.has(res.statusCode) && location) {
      drop(res.body);
      const next = new URL(location, current);
      if (current.protocol === 'https:' && next.protocol !== 'https:') {
        throw new FetchError(
          'FETCH_INSECURE',
          `${current.host} redirected to ${next.protocol}//${next.host}, which is not https: refusing to continue the download unencrypted`,
          { url: current.href },
        );
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:')
        throw new FetchError(
          'FETCH_BAD_SOURCE',
          `${current.host} redirected to an unsupported URL scheme (${next.protocol})`,
          { url: current.href },
        );
      if (hop >= max) throw new FetchError('FETCH_HTTP', `more than ${max} redirects from ${url}`, { url });
      current = next;
      continue;
    }
    const at = current.href;
    return {
      url: at,
      status: res.statusCode,
      header,
      body: res.body,
      discard: () => drop(res.body),
      classify: (e) => classifyError(e, at, { proxy: options.network.proxy, signal: options.signal }),
    };
  }
}

/** A small body as text (a digest sidecar, an API document); more than `max` bytes is FETCH_PROTOCOL. */
export async function readText(res: HttpResponse, max = 1 << 20): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      n += chunk.length;
      if (n > max)
        throw new FetchError(
          'FETCH_PROTOCOL',
          `${res.url} sent more than ${max} bytes where a small document was expected`,
          { url: res.url },
        );
      parts.push(chunk);
    }
  } catch (e) {
    res.discard();
    throw res.classify(e);
  }
  return Buffer.concat(parts).toString('utf8');
}
