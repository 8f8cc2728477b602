import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectProxy } from '../../../../tools/testing/connect-proxy.js';
import { HostileServer } from '../../../../tools/testing/hostile-server.js';
import { makeTestCa } from '../../../../tools/testing/tls-ca.js';
import { download, type FetchError, fetchImage, type FetchImageOptions, openNetwork } from '../../src/index.js';

// Downloads over the networks users have: HTTPS with a CA the test makes (trusted the way a corporate
// CA is, through NODE_EXTRA_CA_CERTS), a CONNECT proxy, and servers that split, stall, trickle,
// redirect and misbehave. Every server is real and on 127.0.0.1.
const ca = makeTestCa();
const env = { NODE_EXTRA_CA_CERTS: ca.caFile };
const https = new HostileServer({ tls: ca });
const http = new HostileServer();
const proxy = new ConnectProxy();
const blob = randomBytes(2 * 1024 * 1024 + 17);
const big = randomBytes(24 * 1024 * 1024);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let dir: string;
let dest: string;

beforeAll(async () => {
  await Promise.all([https.listen(), http.listen(), proxy.listen()]);
  for (const s of [https, http]) {
    s.blobs.set('img.qcow2', blob);
    s.blobs.set('big.qcow2', big);
  }
});
afterAll(async () => {
  await Promise.all([https.close(), http.close(), proxy.close()]);
  ca.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'net-'));
  dest = join(dir, 'stack-emulator-amd64.qcow2');
  https.seen.length = 0;
  http.seen.length = 0;
  proxy.connections.length = 0;
  proxy.refuse = undefined;
  proxy.credentials = undefined;
  return () => rmSync(dir, { recursive: true, force: true });
});

const pull = (url: string, over: Partial<FetchImageOptions> = {}) =>
  fetchImage({ source: { kind: 'url', url }, dest, retries: 0, env, ...over });
const failure = async (p: Promise<unknown>) =>
  (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as FetchError;

describe('HTTPS downloads', () => {
  for (const mode of ['together', 'apart'] as const) {
    it(`head and body ${mode === 'together' ? 'in one TLS record' : 'in separate TLS records'}: 20 downloads, every byte right`, async () => {
      const network = await openNetwork({ env });
      try {
        for (let i = 0; i < 20; i++) {
          const r = await download({
            url: `${https.url}/${mode}/img.qcow2`,
            network,
            partFile: join(dir, `p${i}`),
            retries: 0,
          });
          expect(r.sha256).toBe(sha(blob));
        }
      } finally {
        await network.close();
      }
    });
  }

  it('a body split into small pieces, chunked, gzip-encoded or HTTP/1.0 close-delimited arrives whole', async () => {
    for (const mode of ['split', 'chunked', 'gzip', 'http10']) {
      const r = await pull(`${https.url}/${mode}/img.qcow2`);
      expect(r.sha256, mode).toBe(sha(blob));
      expect(readFileSync(dest).equals(blob), mode).toBe(true);
    }
  });

  it('a large body the disk must hold back, on responses that close the connection, never crashes (undici#5360)', async () => {
    // undici 7 asserts (uncatchably) when such a body is paused on its last byte; gzip through a
    // decoder made it happen on every run before pump() learned to avoid that pause.
    for (const mode of ['gzip', 'http10', 'together', 'chunked']) {
      const r = await pull(`${https.url}/${mode}/big.qcow2`);
      expect(r.sha256, mode).toBe(sha(big));
    }
  });

  it('an untrusted certificate fails at once, says "certificate", and is not retried', async () => {
    const t0 = performance.now();
    const err = await failure(pull(`${https.url}/together/img.qcow2`, { env: {}, retries: 5 }));
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(err.code).toBe('FETCH_CERTIFICATE');
    expect(err.message).toMatch(/certificate of 127\.0\.0\.1:\d+ is not trusted/);
    expect(err.message).toContain('NODE_EXTRA_CA_CERTS');
    expect(existsSync(dest)).toBe(false);
  });

  it('refuses a redirect from https to http and never asks the http server', async () => {
    const err = await failure(
      pull(`${https.url}/redirect?to=${encodeURIComponent(`${http.url}/together/img.qcow2`)}`, { sha256: sha(blob) }),
    );
    expect(err.code).toBe('FETCH_INSECURE');
    expect(http.seen).toHaveLength(0);
  });

  it('builds the sidecar URL from the path, keeping the query', async () => {
    await pull(`${https.url}/together/img.qcow2?sig=abc`);
    expect(https.seen.map((s) => s.path)).toContain('/together/img.qcow2.sha256?sig=abc');
  });
});

describe('plain http sources', () => {
  it('need --sha256: nothing is requested without it, and the download is checked with it', async () => {
    const err = await failure(pull(`${http.url}/together/img.qcow2`));
    expect(err.code).toBe('FETCH_INSECURE');
    expect(err.message).toContain('--sha256');
    expect(http.seen).toHaveLength(0);
    expect((await pull(`${http.url}/together/img.qcow2`, { sha256: sha(blob) })).verifiedBy).toBe('user');
  });
});

describe('through a CONNECT proxy', () => {
  it('HTTPS_PROXY carries the download (and its sidecar); NO_PROXY bypasses it', async () => {
    const r = await pull(`${https.url}/together/img.qcow2`, { env: { ...env, HTTPS_PROXY: proxy.url } });
    expect(r.sha256).toBe(sha(blob));
    const port = new URL(https.url).port;
    expect(proxy.connections.map((c) => c.target)).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${port}`]);
    proxy.connections.length = 0;
    await pull(`${https.url}/together/img.qcow2`, {
      env: { ...env, https_proxy: proxy.url, no_proxy: 'localhost,127.0.0.1' },
    });
    expect(proxy.connections).toHaveLength(0);
  });

  it('a proxy refusing the tunnel fails at once with FETCH_PROXY, not retried', async () => {
    proxy.refuse = 403;
    const err = await failure(
      pull(`${https.url}/together/img.qcow2`, {
        env: { ...env, HTTPS_PROXY: proxy.url },
        sha256: sha(blob),
        retries: 5,
      }),
    );
    expect(err.code).toBe('FETCH_PROXY');
    expect(err.message).toContain('refused to open a tunnel');
    expect(proxy.connections).toHaveLength(1);
  });

  it('a proxy asking for credentials says where to put them; with them in the URL it works', async () => {
    proxy.credentials = 'me:s3cret';
    const err = await failure(
      pull(`${https.url}/together/img.qcow2`, { env: { ...env, HTTPS_PROXY: proxy.url }, sha256: sha(blob) }),
    );
    expect(err.code).toBe('FETCH_PROXY');
    expect(err.message).toMatch(/credentials/);
    const withAuth = proxy.url.replace('http://', 'http://me:s3cret@');
    expect(
      (await pull(`${https.url}/together/img.qcow2`, { env: { ...env, HTTPS_PROXY: withAuth }, sha256: sha(blob) }))
        .sha256,
    ).toBe(sha(blob));
  });
});

describe('servers that stop sending', () => {
  const stall = { windowMs: 1000, minBytesPerSecond: 1024 };
  for (const mode of ['stall', 'stall-head', 'trickle'] as const) {
    it(`${mode === 'stall' ? 'a stall after the head' : mode === 'stall-head' ? 'no head at all' : 'a trickle of 1 byte per 500 ms'} fails within the stall window`, async () => {
      const t0 = performance.now();
      const err = await failure(pull(`${https.url}/${mode}/img.qcow2`, { sha256: sha(blob), stall }));
      const took = performance.now() - t0;
      expect(err.code).toBe('FETCH_STALLED');
      // One window, plus one sampling step (a quarter window) and scheduling.
      expect(took).toBeLessThan(2 * stall.windowMs + 500);
      expect(took).toBeGreaterThanOrEqual(stall.windowMs - 50);
    });
  }

  it('a stalled download is retried a bounded number of times, resuming what it has', async () => {
    const err = await failure(
      pull(`${https.url}/stall/img.qcow2`, { sha256: sha(blob), stall, retries: 2, backoff: 10 }),
    );
    expect(err.code).toBe('FETCH_STALLED');
    expect(err.message).toContain('gave up after 3 attempts');
    expect(https.count('/stall/')).toBe(3);
  });

  it('a server that answers 416 forever is asked a bounded number of times, with backoff', async () => {
    const t0 = performance.now();
    const err = await failure(
      pull(`${https.url}/always-416/img.qcow2`, { sha256: sha(blob), retries: 3, backoff: 50 }),
    );
    expect(err).toMatchObject({ code: 'FETCH_HTTP', status: 416 });
    expect(https.count('/always-416/')).toBe(4);
    expect(performance.now() - t0).toBeGreaterThan(3 * 50 * 0.75);
  });

  it('404 and other 4xx answers are not retried', async () => {
    const err = await failure(pull(`${https.url}/status/404`, { sha256: sha(blob), retries: 5 }));
    expect(err.code).toBe('FETCH_NOT_FOUND');
    expect(https.count('/status/')).toBe(1);
  });
});
