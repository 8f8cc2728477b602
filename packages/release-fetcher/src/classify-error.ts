import { FetchError } from './errors.js';
import { proxyFor, type ProxySettings, redactProxy } from './proxy-settings.js';

/** OpenSSL and Node codes of a certificate the client does not accept: another attempt cannot help. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Connection failures worth another attempt (the server or the path may come back). */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function codesOf(e: unknown): string[] {
  const out: string[] = [];
  for (
    let cur = e, depth = 0;
    cur && typeof cur === 'object' && depth < 5;
    cur = (cur as { cause?: unknown }).cause, depth++
  ) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') out.push(code);
  }
  return out;
}

function messageOf(e: unknown): string {
  const parts: string[] = [];
  for (let cur = e, depth = 0; cur instanceof Error && depth < 4; cur = cur.cause, depth++) {
    if (cur.message && !parts.some((p) => p.includes(cur!.message))) parts.push(cur.message);
  }
  return parts.join(': ') || String(e);
}

/**
 * Turns what undici, net or tls threw for `url` into a FetchError that says what is wrong and whether
 * another attempt may help: certificates and a proxy refusing the tunnel never, resets and stalls yes.
 */
export function classifyError(
  e: unknown,
  url: string,
  options: { proxy: ProxySettings; signal?: AbortSignal },
): FetchError {
  if (e instanceof FetchError) return e;
  const host = new URL(url).host;
  const codes = codesOf(e);
  const message = messageOf(e);
  if (options.signal?.aborted) return new FetchError('FETCH_ABORTED', `request to ${host} aborted`, { cause: e, url });
  const cert = codes.find((c) => CERTIFICATE_CODES.has(c));
  if (cert) {
    return new FetchError(
      'FETCH_CERTIFICATE',
      `the certificate of ${host} is not trusted (${cert}: ${message}). If your network inspects TLS with its own CA (a corporate proxy), save that CA as a PEM file and set NODE_EXTRA_CA_CERTS=<file>, or install it in the system's trust store`,
      { cause: e, url },
    );
  }
  const proxy = proxyFor(new URL(url), options.proxy);
  const tunnel = /Proxy response \((\d+)\)/.exec(message);
  if (tunnel || codes.includes('UND_ERR_PRX_TLS') || (proxy && /Proxy Authentication Required/i.test(message))) {
    const status = tunnel ? Number(tunnel[1]) : undefined;
    const why =
      status === 407
        ? 'asks for credentials (407): put them in the proxy URL (http://user:password@proxy:port)'
        : status
          ? `refused to open a tunnel to ${host} (${status})`
          : `failed: ${message}`;
    return new FetchError(
      'FETCH_PROXY',
      `the proxy ${redactProxy(proxy)} ${why}; check HTTPS_PROXY/HTTP_PROXY, or list ${new URL(url).hostname} in NO_PROXY`,
      { cause: e, url, status },
    );
  }
  if (codes.includes('UND_ERR_HEADERS_TIMEOUT') || codes.includes('UND_ERR_BODY_TIMEOUT')) {
    return new FetchError('FETCH_STALLED', `${host} stopped sending (${message})`, { cause: e, url, retryable: true });
  }
  if (
    codes.some((c) => c.startsWith('HPE_') || c.startsWith('Z_')) ||
    codes.includes('UND_ERR_RES_CONTENT_LENGTH_MISMATCH')
  ) {
    return new FetchError('FETCH_PROTOCOL', `${host} sent a malformed HTTP response: ${message}`, {
      cause: e,
      url,
      retryable: true,
    });
  }
  const via = proxy ? ` (through the proxy ${redactProxy(proxy)})` : '';
  if (codes.includes('ENOTFOUND'))
    return new FetchError(
      'FETCH_NETWORK',
      `cannot resolve ${new URL(url).hostname}${via}: check the network connection and the URL`,
      { cause: e, url },
    );
  return new FetchError('FETCH_NETWORK', `cannot reach ${host}${via}: ${message}`, {
    cause: e,
    url,
    retryable: codes.some((c) => TRANSIENT_CODES.has(c)),
  });
}
