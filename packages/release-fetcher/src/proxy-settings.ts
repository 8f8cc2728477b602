/** The proxies a request may go through, read from the environment once. */
export interface ProxySettings {
  /** Proxy for http:// URLs; '' for none. */
  httpProxy: string;
  /** Proxy for https:// URLs; '' for none (then http URLs' proxy applies, as curl does). */
  httpsProxy: string;
  /** Hosts (and `host:port`, `.suffix`, `*`) that bypass the proxies, comma or space separated. */
  noProxy: string;
}

const pick = (env: NodeJS.ProcessEnv, name: string) => env[name.toLowerCase()] ?? env[name.toUpperCase()] ?? '';

/**
 * HTTP_PROXY, HTTPS_PROXY and NO_PROXY, lower case first (undici's EnvHttpProxyAgent and curl read
 * the lower-case spelling first; many tools set only one of the two). A proxy URL without a scheme
 * ("proxy:3128", as many corporate setups write it) means http://.
 */
export function proxySettings(env: NodeJS.ProcessEnv): ProxySettings {
  const withScheme = (v: string) => (v === '' || /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `http://${v}`);
  return {
    httpProxy: withScheme(pick(env, 'http_proxy')),
    httpsProxy: withScheme(pick(env, 'https_proxy')),
    noProxy: pick(env, 'no_proxy'),
  };
}

/** The proxy a URL goes through under these settings ('' when direct), with NO_PROXY applied as undici does. */
export function proxyFor(url: URL, settings: ProxySettings): string {
  const proxy = url.protocol === 'https:' ? settings.httpsProxy || settings.httpProxy : settings.httpProxy;
  if (!proxy) return '';
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  for (const raw of settings.noProxy.split(/[,\s]/)) {
    if (!raw) continue;
    if (raw === '*') return '';
    const m = /^(.+):(\d+)$/.exec(raw);
    const entry = (m ? m[1]! : raw)
      .replace(/^\*?\./, '')
      .replace(/^\[|\]$/g, '')
      .toLowerCase();
    if (m && Number(m[2]) !== port) continue;
    if (host === entry || host.endsWith(`.${entry}`)) return '';
  }
  return proxy;
}

/** A proxy URL without its credentials, for messages. */
export function redactProxy(proxy: string): string {
  try {
    const u = new URL(proxy);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    return u.toString().replace(/\/$/, '');
  } catch {
    return proxy;
  }
}
