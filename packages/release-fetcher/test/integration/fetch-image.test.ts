import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fetchImage, type FetchError, type FetchImageOptions, getRepoFile, listReleases } from '../../src/index.js';
import { FakeGitHub } from '../../../../tools/testing/fake-github.js';
import { makeTestCa } from '../../../../tools/testing/tls-ca.js';

// GitHub as users reach it: HTTPS on both origins (the API, and the storage host it redirects to),
// with a CA this test makes, trusted through NODE_EXTRA_CA_CERTS as a corporate CA would be.
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const ca = makeTestCa();
const env = { NODE_EXTRA_CA_CERTS: ca.caFile };
const gh = new FakeGitHub({ tls: ca });
const image = randomBytes(3 * 1024 * 1024 + 123);
const oldImage = Buffer.from('the image the user has now');
let dir: string;
let dest: string;
const repo = 'o/r';
const TOKEN = 'ghp_secret_token_for_tests';

beforeAll(async () => {
  await gh.listen();
  gh.addBlob('1', image);
});
afterAll(() => {
  gh.close();
  ca.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fetch-'));
  dest = join(dir, 'images', 'stack-emulator-amd64.qcow2');
  mkdirSync(join(dir, 'images'));
  writeFileSync(dest, oldImage);
  gh.seen.length = 0;
  gh.rateLimited = false;
  gh.dropAfter = undefined;
  gh.renamed.clear();
  gh.releases = [
    {
      tag_name: 'emulator-dev-latest',
      name: 'dev',
      draft: false,
      prerelease: true,
      published_at: '2026-11-01T00:00:00Z',
      created_at: '2026-11-01T00:00:00Z',
      assets: [
        {
          name: 'stack-emulator-amd64.qcow2',
          url: `${gh.apiUrl}/repos/o/r/releases/assets/1`,
          size: image.length,
          digest: `sha256:${sha(image)}`,
        },
      ],
    },
  ];
});

const release = (over: Partial<FetchImageOptions> = {}) =>
  fetchImage({
    source: { kind: 'release', repo, tag: 'emulator-dev-latest', asset: 'stack-emulator-amd64.qcow2' },
    dest,
    apiBase: gh.apiUrl,
    token: TOKEN,
    retries: 0,
    env,
    ...over,
  });

describe('fetchImage from a GitHub-like server', () => {
  it('downloads a release asset, checks its digest, installs it with a .sha256, and sends the token only to the API host', async () => {
    const r = await release();
    expect(r).toMatchObject({ sha256: sha(image), verifiedBy: 'release-digest', resumedFrom: 0 });
    expect(readFileSync(dest).equals(image)).toBe(true);
    expect(readFileSync(`${dest}.sha256`, 'utf8')).toBe(`${sha(image)}  stack-emulator-amd64.qcow2\n`);
    expect(existsSync(`${dest}.part`) || existsSync(`${dest}.part.json`)).toBe(false);
    expect(gh.seen.filter((s) => s.host === 'api').every((s) => s.headers.authorization === `Bearer ${TOKEN}`)).toBe(
      true,
    );
    const cdn = gh.seen.filter((s) => s.host === 'cdn');
    expect(cdn.length).toBeGreaterThan(0);
    expect(cdn.some((s) => s.headers.authorization !== undefined)).toBe(false);
  });

  it('an interrupted download keeps the old image, and the next run resumes with Range + If-Range', async () => {
    gh.dropAfter = 1_000_000;
    const err = (await release().catch((e) => e)) as FetchError;
    expect(err.code).toBe('FETCH_NETWORK');
    expect(readFileSync(dest).equals(oldImage)).toBe(true);
    const partial = statSync(`${dest}.part`).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(image.length);
    gh.seen.length = 0;
    const r = await release();
    expect(r.resumedFrom).toBe(partial);
    const get = gh.seen.filter((s) => s.host === 'cdn').at(-1)!;
    expect(get.headers.range).toBe(`bytes=${partial}-`);
    expect(get.headers['if-range']).toBe(gh.blobs.get('1')!.etag);
    expect(readFileSync(dest).equals(image)).toBe(true);
  });

  it('retries a dropped connection within one call, resuming where it stopped', async () => {
    gh.dropAfter = 500_000;
    const retried: number[] = [];
    const r = await release({ retries: 3, onRetry: (_e, _n, at) => retried.push(at) } as Partial<FetchImageOptions>);
    expect(retried).toHaveLength(1);
    expect(retried[0]).toBeGreaterThan(0);
    expect(r.sha256).toBe(sha(image));
  });

  it('starts over when the remote file changed since the partial download (If-Range mismatch -> 200)', async () => {
    gh.dropAfter = 700_000;
    await release().catch(() => {});
    const changed = randomBytes(image.length);
    gh.addBlob('1', changed);
    (gh.releases[0]!.assets as Array<Record<string, unknown>>)[0]!.digest = `sha256:${sha(changed)}`;
    const r = await release();
    expect(r.resumedFrom).toBeGreaterThan(0);
    expect(readFileSync(dest).equals(changed)).toBe(true);
    gh.addBlob('1', image);
  });

  it('a wrong digest never replaces the image and leaves no partial file', async () => {
    const err = (await release({ sha256: 'ab'.repeat(32) }).catch((e) => e)) as FetchError;
    expect(err.code).toBe('FETCH_DIGEST_MISMATCH');
    expect(err.message).toContain(sha(image));
    expect(readFileSync(dest).equals(oldImage)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('reports a rate limit with its reset time', async () => {
    gh.rateLimited = true;
    const err = (await release().catch((e) => e)) as FetchError;
    expect(err.code).toBe('FETCH_RATE_LIMITED');
    expect(err.resetAt?.toISOString()).toBe('2100-01-01T00:00:00.000Z');
    expect(err.message).toContain('resets at 2100-01-01T00:00:00.000Z');
  });

  it('explains a missing release (a rolling release is a draft while it is republished)', async () => {
    gh.releases[0]!.draft = true;
    const err = (await release().catch((e) => e)) as FetchError;
    expect(err.code).toBe('FETCH_NOT_FOUND');
    expect(err.message).toMatch(/draft/);
    expect(readFileSync(dest).equals(oldImage)).toBe(true);
  });

  it('reads a repository file at a tag through the contents API (token to the API only)', async () => {
    gh.contents.set('emulator-dev-latest:apps/backend/.env.development', 'STACK_SERVER_SECRET=x\n');
    expect(
      await getRepoFile(repo, 'apps/backend/.env.development', 'emulator-dev-latest', {
        apiBase: gh.apiUrl,
        token: TOKEN,
        env,
      }),
    ).toBe('STACK_SERVER_SECRET=x\n');
    const err = (await getRepoFile(repo, 'nope', 'emulator-dev-latest', { apiBase: gh.apiUrl, env }).catch(
      (e) => e,
    )) as FetchError;
    expect(err.code).toBe('FETCH_NOT_FOUND');
  });

  it('lists releases', async () => {
    expect((await listReleases(repo, { apiBase: gh.apiUrl, env })).map((r) => r.tag_name)).toEqual([
      'emulator-dev-latest',
    ]);
  });

  it('follows a renamed repository (the API answers 301) with the token, and still keeps it off the storage host', async () => {
    gh.renamed.set('old-owner/old-name', 42);
    gh.releases[0]!.assets = [
      { ...(gh.releases[0]!.assets as object[])[0]!, url: `${gh.apiUrl}/repositories/42/releases/assets/1` },
    ];
    const r = await fetchImage({
      source: {
        kind: 'release',
        repo: 'old-owner/old-name',
        tag: 'emulator-dev-latest',
        asset: 'stack-emulator-amd64.qcow2',
      },
      dest,
      apiBase: gh.apiUrl,
      token: TOKEN,
      retries: 0,
      env,
    });
    expect(r.sha256).toBe(sha(image));
    const api = gh.seen.filter((s) => s.host === 'api');
    expect(api.map((s) => s.url)).toContain('/repos/old-owner/old-name/releases/tags/emulator-dev-latest');
    expect(api.some((s) => s.url.startsWith('/repositories/42/releases/tags/'))).toBe(true);
    expect(api.every((s) => s.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(gh.seen.filter((s) => s.host === 'cdn').some((s) => s.headers.authorization)).toBe(false);
  });

  it('downloads a plain URL verified by its .sha256 sidecar, and refuses one without any digest', async () => {
    gh.addBlob('plain.qcow2', image);
    gh.addBlob('plain.qcow2.sha256', Buffer.from(`${sha(image)}  plain.qcow2\n`));
    const r = await fetchImage({
      source: { kind: 'url', url: `${gh.cdnUrl}/blob/plain.qcow2` },
      dest,
      retries: 0,
      env,
    });
    expect(r.verifiedBy).toBe('sidecar');
    gh.addBlob('nodigest.qcow2', image);
    const err = (await fetchImage({
      source: { kind: 'url', url: `${gh.cdnUrl}/blob/nodigest.qcow2` },
      dest,
      retries: 0,
      env,
    }).catch((e) => e)) as FetchError;
    expect(err.code).toBe('FETCH_BAD_SOURCE');
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('copies a local file, checking its sidecar', async () => {
    const src = join(dir, 'local');
    mkdirSync(src);
    writeFileSync(join(src, 'stack-emulator-amd64.qcow2'), image);
    writeFileSync(join(src, 'stack-emulator-amd64.qcow2.sha256'), `${sha(image)}  stack-emulator-amd64.qcow2\n`);
    const r = await fetchImage({ source: { kind: 'local', path: src }, dest });
    expect(r).toMatchObject({ verifiedBy: 'sidecar', sha256: sha(image) });
    writeFileSync(join(src, 'stack-emulator-amd64.qcow2.sha256'), `${'0'.repeat(64)}  stack-emulator-amd64.qcow2\n`);
    writeFileSync(dest, oldImage);
    expect(
      ((await fetchImage({ source: { kind: 'local', path: src }, dest }).catch((e) => e)) as FetchError).code,
    ).toBe('FETCH_DIGEST_MISMATCH');
    expect(readFileSync(dest).equals(oldImage)).toBe(true);
  });
});
