import { FetchError } from './errors.js';
import { type ProxySettings, proxyFor } from './proxy-settings.js';

const DEFAULT_API = 'https://api.github.com';

/** 127.0.0.0/8, ::1 and localhost (which RFC 6761 6.3 reserves for loopback), as the URL parser spells them. */
const isLoopback = (hostname: string) =>
  /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname === '[::1]' || hostname === 'localhost';

/**
 * Sans-I/O: the GitHub API base to use (no trailing slash), or an error that names it and the fix.
 * It must be https: the API gets the token, and answers with the digests downloads are checked
 * against, so plain http would hand both to anyone on the path. Plain http is allowed to this
 * machine only (a local mirror, a test server), and only when no proxy carries it (the proxy would
 * get it in clear).
 */
export function apiBaseUrl(value: string | undefined, proxy: ProxySettings): string {
  const base = (value ?? DEFAULT_API).replace(/\/$/, '');
  const fix = 'set the GitHub API base (apiBase; STACK_EMULATOR_GITHUB_API for stack-emulator)';
  let url: URL;
  try {
    url = new URL(base);
  } catch (e) {
    throw new FetchError('FETCH_BAD_SOURCE', `the GitHub API base "${base}" is not a URL; ${fix} to an https:// URL`, {
      cause: e,
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new FetchError('FETCH_BAD_SOURCE', `the GitHub API base "${base}" is not http(s); ${fix} to an https:// URL`);
  if (url.username || url.password)
    throw new FetchError(
      'FETCH_BAD_SOURCE',
      `the GitHub API base "${url.protocol}//${url.host}" carries credentials in the URL; pass the token instead (GITHUB_TOKEN)`,
    );
  if (url.protocol === 'http:') {
    const via = proxyFor(url, proxy);
    if (!isLoopback(url.hostname) || via !== '')
      throw new FetchError(
        'FETCH_INSECURE',
        `the GitHub API base "${base}" is plain http${via !== '' ? ' through a proxy' : ''}: the token and the digests the download is checked against would cross the network unprotected; ${fix} to an https:// URL (plain http is allowed only to 127.0.0.1, ::1 or localhost, without a proxy)`,
        { url: base },
      );
  }
  return base;
}
