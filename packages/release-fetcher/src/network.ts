import { createSecureContext } from 'node:tls';
import type { Dispatcher, request } from 'undici';
import { type ProxySettings, proxySettings } from './proxy-settings.js';
import { loadTrustStore, type TrustOptions, type TrustStore } from './trust-store.js';

/** How this package reaches the network. Every option is optional. */
export interface NetworkOptions {
  /**
   * An undici dispatcher for every request (tests, or an app's own agent). Proxies and CAs are then
   * its business. @default one made from `env`, trusting bundled, system and extra CAs
   */
  dispatcher?: Dispatcher;
  /** Read for HTTP(S)_PROXY, NO_PROXY, NODE_EXTRA_CA_CERTS, SSL_CERT_FILE. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Extra CA certificates (PEM) trusted on top of the others. @default none */
  ca?: TrustOptions['ca'];
  /** Which OS trust store to read. @default process.platform */
  platform?: NodeJS.Platform;
}

/** An opened network: one dispatcher for the API, downloads and sidecars; close() ends its sockets. */
export interface Network {
  dispatcher: Dispatcher;
  /** undici's request(), loaded with the network (see openNetwork). */
  request: typeof request;
  proxy: ProxySettings;
  /** What is trusted, when this package built the dispatcher. */
  trust: TrustStore | undefined;
  close(): Promise<void>;
}

/**
 * Builds the dispatcher: undici's EnvHttpProxyAgent with the proxies read from `env` (passed in, so
 * the agent never reads process.env itself) and one secure context with every trusted CA, used for
 * direct connections, for the tunnel to the origin through a proxy and for an https proxy.
 */
export async function openNetwork(options: NetworkOptions = {}): Promise<Network> {
  const env = options.env ?? process.env;
  const proxy = proxySettings(env);
  // undici is loaded here, not with this package: it is about 1 MB of code, and a CLI that imports
  // this package for its digests (every `start`) should not pay ~60 ms for it.
  const mod = await import('undici');
  // A CommonJS package: imported dynamically, Node gives named exports and `default`, an esbuild bundle
  // (the CLI's) only `default`.
  const undici = ((mod as unknown as { default?: typeof mod }).default ?? mod) as typeof mod;
  if (options.dispatcher)
    return { dispatcher: options.dispatcher, request: undici.request, proxy, trust: undefined, close: async () => {} };
  const trust = await loadTrustStore({ env, ca: options.ca, platform: options.platform });
  const tls = { secureContext: createSecureContext({ ca: trust.certificates }) };
  const agent = new undici.EnvHttpProxyAgent({ ...proxy, connect: tls, requestTls: tls, proxyTls: tls });
  return { dispatcher: agent, request: undici.request, proxy, trust, close: () => agent.close() };
}
