import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnvFile, STACK_BASE_ENV, STACK_BASE_ENV_KEYS } from '@stack/emulator-image';
import { ConnectProxy } from '../../../../tools/testing/connect-proxy.js';
import { FakeGitHub } from '../../../../tools/testing/fake-github.js';
import { makeTestCa } from '../../../../tools/testing/tls-ca.js';

// `pull` and `list-releases` through the built CLI against a local GitHub-like server over HTTPS (its
// API and its storage host on two origins), with a CA made here and trusted the way users trust a
// corporate one: NODE_EXTRA_CA_CERTS in the CLI's environment.
const bin = new URL('../../dist/cli.js', import.meta.url).pathname; // the published bin (bundled)
const ca = makeTestCa();
const gh = new FakeGitHub({ tls: ca });
const proxy = new ConnectProxy();
const image = randomBytes(2 * 1024 * 1024);
const sha = createHash('sha256').update(image).digest('hex');
let home: string;

const cli = (args: string[], env: Record<string, string> = {}) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: {
        ...process.env,
        CI: '1',
        GITHUB_TOKEN: 'tok',
        STACK_EMULATOR_HOME: home,
        STACK_EMULATOR_GITHUB_API: gh.apiUrl,
        NODE_EXTRA_CA_CERTS: ca.caFile,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

beforeAll(async () => {
  await gh.listen();
  await proxy.listen();
  gh.addBlob('1', image);
  gh.releases = [
    {
      tag_name: 'emulator-dev-latest',
      name: 'emulator dev',
      draft: false,
      prerelease: true,
      published_at: '2026-11-20T10:00:00Z',
      created_at: '2026-11-20T10:00:00Z',
      assets: [
        {
          name: 'stack-emulator-amd64.qcow2',
          url: `${gh.apiUrl}/repos/stack-auth/stack-auth/releases/assets/1`,
          size: image.length,
          digest: `sha256:${sha}`,
        },
      ],
    },
    {
      tag_name: 'v2.0.0',
      name: 'SDK',
      draft: false,
      prerelease: false,
      published_at: '2026-11-19T10:00:00Z',
      created_at: '2026-11-19T10:00:00Z',
      assets: [],
    },
  ];
  home = mkdtempSync(join(tmpdir(), 'pull-home-'));
});
afterAll(async () => {
  gh.close();
  await proxy.close();
  ca.close();
  rmSync(home, { recursive: true, force: true });
});

describe('stack-emulator pull / list-releases', () => {
  it('list-releases shows only emulator releases', async () => {
    const r = await cli(['list-releases', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { tag: 'emulator-dev-latest', status: 'pre-release', date: '2026-11-20', assets: ['stack-emulator-amd64.qcow2'] },
    ]);
  });

  it('pull installs the verified release image under the original file name, through HTTPS_PROXY', async () => {
    const r = await cli(['pull', '--arch', 'amd64', '--skip-snapshot', '--json'], { HTTPS_PROXY: proxy.url });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, sha256: sha, verifiedBy: 'release-digest' });
    expect(readFileSync(join(home, 'images', 'stack-emulator-amd64.qcow2')).equals(image)).toBe(true);
    expect(gh.seen.filter((s) => s.host === 'cdn').some((s) => s.headers.authorization)).toBe(false);
    // The API and the storage host, each reached through the proxy's tunnel.
    const targets = new Set(proxy.connections.map((c) => c.target));
    expect(targets).toEqual(new Set([new URL(gh.apiUrl).host, new URL(gh.cdnUrl).host]));
  });

  it('keeps the base environment of the release beside the image, generated from its Stack sources (every variable of the list)', async () => {
    for (const app of ['backend', 'dashboard'] as const) {
      gh.contents.set(
        `emulator-dev-latest:apps/${app}/.env.development`,
        STACK_BASE_ENV.filter((e) => 'from' in e && e.from === app)
          .map((e) => `${e.key}=dev-${e.key}`)
          .join('\n'),
      );
    }
    const r = await cli(['pull', '--arch', 'amd64', '--skip-snapshot', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).baseEnv).toEqual({ from: 'stack-auth/stack-auth at emulator-dev-latest' });
    const env = parseEnvFile(readFileSync(join(home, 'images', 'stack-emulator-amd64.qcow2.base.env'), 'utf8'));
    expect([...env.keys()]).toEqual([...STACK_BASE_ENV_KEYS]);
    expect(env.get('STACK_SERVER_SECRET')).toBe('dev-STACK_SERVER_SECRET');
  });

  it('without the CA the pull fails at once, naming the certificate and NODE_EXTRA_CA_CERTS', async () => {
    const r = await cli(['pull', '--arch', 'amd64', '--skip-snapshot'], { NODE_EXTRA_CA_CERTS: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/certificate of 127\.0\.0\.1:\d+ is not trusted/);
    expect(r.stderr).toContain('NODE_EXTRA_CA_CERTS');
  });

  it('a failed pull (wrong digest) exits non-zero and keeps the installed image and its snapshots', async () => {
    const snap = join(home, 'snapshots', 'a'.repeat(32));
    mkdirSync(snap, { recursive: true });
    writeFileSync(
      join(snap, 'meta.json'),
      // A whole snapshot's meta.json (the cache reads only what matches its schema).
      JSON.stringify({
        version: 1,
        key: {
          imageDigest: sha,
          qemuVersion: '10.0.2',
          accel: 'tcg',
          layoutFingerprint: 'f',
          configDisk: {},
          format: 'stream',
        },
        createdAt: new Date().toISOString(),
        state: { size: 0, sha256: '0'.repeat(64), edgeSha256: '0'.repeat(64) },
      }),
    );
    const r = await cli(['pull', '--arch', 'amd64', '--skip-snapshot', '--sha256', '0'.repeat(64)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('expected 0000');
    expect(r.stderr).toContain('left as it was');
    expect(readFileSync(join(home, 'images', 'stack-emulator-amd64.qcow2')).equals(image)).toBe(true);
    expect(existsSync(snap)).toBe(true);
  });

  it("a new image replaces the old one, and only then are the old image's snapshots removed", async () => {
    const next = randomBytes(1024 * 1024);
    gh.addBlob('1', next);
    (gh.releases[0]!.assets as Array<Record<string, unknown>>)[0] = {
      name: 'stack-emulator-amd64.qcow2',
      url: `${gh.apiUrl}/repos/stack-auth/stack-auth/releases/assets/1`,
      size: next.length,
      digest: `sha256:${createHash('sha256').update(next).digest('hex')}`,
    };
    const r = await cli(['pull', '--arch', 'amd64', '--skip-snapshot', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).droppedSnapshots).toBe(1);
    expect(readFileSync(join(home, 'images', 'stack-emulator-amd64.qcow2')).equals(next)).toBe(true);
    expect(existsSync(join(home, 'snapshots', 'a'.repeat(32)))).toBe(false);
  });

  it('rejects conflicting sources and bad values with exit code 2', async () => {
    expect((await cli(['pull', '--pr', '12', '--run', '9'])).code).toBe(2);
    expect((await cli(['pull', '--pr', 'abc'])).code).toBe(2);
    const r = await cli(['pull', '--url', 'ftp://x/y']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('must be an http(s) URL');
    const insecure = await cli(['pull', '--url', 'http://127.0.0.1:9/x.qcow2', '--skip-snapshot']);
    expect(insecure.code).toBe(2);
    expect(insecure.stderr).toContain('--sha256');
    expect((await cli(['pull', '--timeout', '0'])).code).toBe(2);
  });
});
