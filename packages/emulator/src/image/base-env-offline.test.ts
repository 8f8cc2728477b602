import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateStackBaseEnv, parseEnvFile, STACK_BASE_ENV, STACK_BASE_ENV_KEYS } from '@stack/emulator-image';
import { DEFAULT_REPO, FetchError, releaseTag } from '@stack/release-fetcher';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeGitHub } from '../../../../tools/testing/fake-github.js';
import { sampleStackCheckout } from '../../../../tools/testing/stack-checkout.js';
import { detectHost } from '../config/host-info.js';
import { resolveConfig } from '../config/resolve-config.js';
import { type BundledBaseEnv, bundledBaseEnvText, unreachableReason } from './base-env-offline.js';
import { baseEnvSidecar, resolveBaseEnv } from './base-env.js';
import { BUNDLED_BASE_ENV } from './bundled-base-env.js';

const dir = () => mkdtempSync(join(tmpdir(), 'base-env-offline-'));
const config = (api: string) =>
  resolveConfig(
    { arch: 'amd64' },
    { STACK_EMULATOR_HOME: join(dir(), 'home'), STACK_EMULATOR_GITHUB_API: api },
    detectHost({ platform: 'linux', arch: 'x64' }),
  );
const stackImage = () => ({ kind: 'stack', path: join(dir(), 'stack-emulator-amd64.qcow2') });
const bundledText = bundledBaseEnvText(BUNDLED_BASE_ENV);
// Nothing listens on port 9 (discard): connection refused at once, as on a host without a route.
const REFUSED = 'http://127.0.0.1:9';
const ref = releaseTag('dev');

const servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});
async function fakeGitHub(): Promise<FakeGitHub> {
  const gh = new FakeGitHub();
  await gh.listen();
  servers.push(gh);
  return gh;
}
/** A server that accepts connections and never answers. */
async function silentServer(): Promise<string> {
  const server: Server = createServer(() => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push({ close: () => (server.closeAllConnections(), server.close()) });
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe('the bundled Stack base environment', () => {
  it('is the base environment start generates from GitHub for the same release: every variable, the same bytes (so the same digest)', () => {
    const env = parseEnvFile(bundledText);
    expect([...env.keys()]).toEqual([...STACK_BASE_ENV_KEYS]);
    // The two env files as far as the generator reads them, back from the bundled values.
    const files = { backend: '', dashboard: '' };
    for (const e of STACK_BASE_ENV) if ('from' in e) files[e.from] += `${e.key}=${env.get(e.key)}\n`;
    const source = `${BUNDLED_BASE_ENV.repo} at ${BUNDLED_BASE_ENV.ref}`;
    expect(generateStackBaseEnv(files, { source })).toBe(bundledText);
    expect(BUNDLED_BASE_ENV).toMatchObject({ repo: DEFAULT_REPO, commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(Number.isNaN(Date.parse(BUNDLED_BASE_ENV.generatedAt))).toBe(false);
  });

  it('is carried by the built library (dist, as published), not read from a file beside it', async () => {
    const built = pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'image', 'base-env.js')).href;
    const lib = (await import(built)) as { resolveBaseEnv: typeof resolveBaseEnv };
    const r = await lib.resolveBaseEnv(config(REFUSED), stackImage());
    expect(r.text).toBe(bundledText);
  });
});

describe('resolveBaseEnv without GitHub', () => {
  it('takes the bundled one when GitHub cannot be reached, names its release, and keeps nothing beside the image', async () => {
    const image = stackImage();
    const warnings: string[] = [];
    const r = await resolveBaseEnv(config(REFUSED), image, { warn: (t) => warnings.push(t) });
    expect(r.text).toBe(bundledText);
    expect(r.digest).toMatch(/^[0-9a-f]{64}$/);
    const named = `${BUNDLED_BASE_ENV.repo} at ${BUNDLED_BASE_ENV.ref}, commit ${BUNDLED_BASE_ENV.commit.slice(0, 12)}`;
    expect(r.from).toBe(`bundled with @stack/emulator (${named})`);
    expect(warnings).toEqual([
      expect.stringContaining(`bundled with this package (${named}): GitHub could not be reached`),
    ]);
    expect(warnings[0]).toContain('cannot reach 127.0.0.1:9');
    expect(existsSync(baseEnvSidecar(image.path))).toBe(false);
  });

  it('online, GitHub comes first: the rolling release sources are used and kept beside the image', async () => {
    const gh = await fakeGitHub();
    const checkout = sampleStackCheckout();
    for (const p of ['apps/backend/.env.development', 'apps/dashboard/.env.development'])
      gh.contents.set(`${ref}:${p}`, readFileSync(join(checkout, p), 'utf8'));
    const image = stackImage();
    const warnings: string[] = [];
    const r = await resolveBaseEnv(config(gh.apiUrl), image, { warn: (t) => warnings.push(t) });
    expect(parseEnvFile(r.text).get('STACK_SERVER_SECRET')).toBe('v-STACK_SERVER_SECRET');
    expect(r.from).toBe(baseEnvSidecar(image.path));
    expect(readFileSync(baseEnvSidecar(image.path), 'utf8')).toBe(r.text);
    expect(warnings).toEqual([]);
  });

  it('over the rate limit: the bundled one, the limit named', async () => {
    const gh = await fakeGitHub();
    gh.rateLimited = true;
    const warnings: string[] = [];
    const r = await resolveBaseEnv(config(gh.apiUrl), stackImage(), { warn: (t) => warnings.push(t) });
    expect(r.text).toBe(bundledText);
    expect(warnings[0]).toContain('rate limit');
  });

  it('GitHub silent past the deadline: the bundled one, without waiting for the connect timeouts', async () => {
    const t0 = Date.now();
    const warnings: string[] = [];
    const r = await resolveBaseEnv(config(await silentServer()), stackImage(), {
      deadlineMs: 300,
      warn: (t) => warnings.push(t),
    });
    expect(r.text).toBe(bundledText);
    expect(warnings[0]).toContain('no answer within 0.3 s');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a 404 (the tag or a file gone) is an answer, not an outage: BASE_ENV_MISSING, never the bundled one', async () => {
    const gh = await fakeGitHub();
    const warnings: string[] = [];
    const err = await resolveBaseEnv(config(gh.apiUrl), stackImage(), { warn: (t) => warnings.push(t) }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'BASE_ENV_MISSING', message: expect.stringContaining('(404)') });
    expect(warnings).toEqual([]);
  });

  it('a start interrupted while fetching does not carry on with the bundled one', async () => {
    const ac = new AbortController();
    ac.abort();
    const warnings: string[] = [];
    const err = await resolveBaseEnv(config(await silentServer()), stackImage(), {
      signal: ac.signal,
      warn: (t) => warnings.push(t),
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BASE_ENV_MISSING' });
    expect(warnings).toEqual([]);
  });

  it('without a bundled one (a build that carries none), unreachable GitHub is BASE_ENV_MISSING naming why', async () => {
    const err = await resolveBaseEnv(config(REFUSED), stackImage(), { bundled: null }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'BASE_ENV_MISSING',
      message: expect.stringContaining('cannot reach 127.0.0.1:9'),
      hint: expect.stringContaining('--base-env'),
    });
  });

  it('uses the bundled one it is given, whichever release that is', async () => {
    const other: BundledBaseEnv = { ...BUNDLED_BASE_ENV, ref: 'emulator-dev-20990101-0123abcd', lines: ['A=1'] };
    const r = await resolveBaseEnv(config(REFUSED), stackImage(), { bundled: other });
    expect(r).toMatchObject({ text: 'A=1\n', from: expect.stringContaining('at emulator-dev-20990101-0123abcd') });
  });
});

describe('unreachableReason', () => {
  const fe = (code: ConstructorParameters<typeof FetchError>[0], status?: number) =>
    new FetchError(code, `${code} ${status ?? ''}`.trim(), { status });

  it('is the reason for no answer from GitHub: no route, DNS, a stall, the proxy, a certificate, a mangled answer, the rate limit, 5xx', () => {
    for (const e of [
      fe('FETCH_NETWORK'),
      fe('FETCH_STALLED'),
      fe('FETCH_PROXY'),
      fe('FETCH_CERTIFICATE'),
      fe('FETCH_PROTOCOL'),
      fe('FETCH_RATE_LIMITED', 429),
      fe('FETCH_HTTP', 502),
      fe('FETCH_HTTP', 503),
    ])
      expect(unreachableReason(e), e.code).toBe(e.message);
  });

  it('is undefined when GitHub answered (404, the token, another 4xx), for a stop, a configuration error and any other error', () => {
    for (const e of [
      fe('FETCH_NOT_FOUND', 404),
      fe('FETCH_UNAUTHORIZED', 401),
      fe('FETCH_FORBIDDEN', 403),
      fe('FETCH_HTTP', 422),
      fe('FETCH_HTTP'),
      fe('FETCH_ABORTED'),
      fe('FETCH_INSECURE'),
      new Error("Stack's development env files lack STACK_SERVER_SECRET"),
      Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }),
    ])
      expect(unreachableReason(e), (e as Error).message).toBeUndefined();
  });
});
