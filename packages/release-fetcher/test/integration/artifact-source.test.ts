import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeGitHub } from '../../../../tools/testing/fake-github.js';
import { hasTools } from '../../../../tools/testing/requires.js';
import { makeTestCa } from '../../../../tools/testing/tls-ca.js';
import { type FetchError, fetchImage } from '../../src/index.js';

// Pull request and workflow run artifacts from a GitHub-like server over HTTPS (its API and its
// storage host), with a CA made here and trusted through NODE_EXTRA_CA_CERTS.
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const ca = makeTestCa();
const env = { NODE_EXTRA_CA_CERTS: ca.caFile };
const gh = new FakeGitHub({ tls: ca });
const image = randomBytes(3 * 1024 * 1024 + 123);
const oldImage = Buffer.from('the image the user has now');
let dest: string;
const repo = 'o/r';
const TOKEN = 'ghp_secret_token_for_tests';

beforeAll(async () => {
  await gh.listen();
});
afterAll(() => {
  gh.close();
  ca.close();
});
beforeEach(() => {
  const dir = mkdtempSync(join(tmpdir(), 'fetch-pr-'));
  dest = join(dir, 'images', 'stack-emulator-amd64.qcow2');
  mkdirSync(join(dir, 'images'));
  writeFileSync(dest, oldImage);
  gh.seen.length = 0;
});

const zipOk = hasTools('python3');
describe.skipIf(!zipOk)('fetchImage from workflow artifacts (zip)', () => {
  const makeZip = (members: Array<[string, Buffer]>) => {
    const d = mkdtempSync(join(tmpdir(), 'zip-'));
    const files = members.map(([name, data], i) => {
      writeFileSync(join(d, `m${i}`), data);
      return [name, join(d, `m${i}`)];
    });
    const out = join(d, 'a.zip');
    execFileSync('python3', [
      '-c',
      'import sys,zipfile,json\nz=zipfile.ZipFile(sys.argv[1],"w",zipfile.ZIP_DEFLATED)\nfor n,p in json.loads(sys.argv[2]): z.write(p,n)\nz.close()',
      out,
      JSON.stringify(files),
    ]);
    const data = readFileSync(out);
    rmSync(d, { recursive: true, force: true });
    return data;
  };
  beforeEach(() => {
    gh.pulls.clear();
    gh.runs = [];
    gh.artifacts = [];
  });
  const artifact = (id: number, size: number) => ({
    id,
    name: 'qemu-emulator-amd64',
    size_in_bytes: size,
    archive_download_url: `${gh.apiUrl}/repos/o/r/actions/artifacts/${id}/zip`,
    expired: false,
  });

  it('finds the run of a PR, downloads its artifact (token to the API only) and extracts the image', async () => {
    const zip = makeZip([['stack-emulator-amd64.qcow2', image]]);
    gh.addBlob('artifact-5', zip);
    gh.artifacts = [artifact(5, zip.length)];
    const r = await fetchImage({
      source: { kind: 'pr', repo, pr: 12, artifact: 'qemu-emulator-amd64', file: 'stack-emulator-amd64.qcow2' },
      dest,
      apiBase: gh.apiUrl,
      token: TOKEN,
      retries: 0,
      env,
    });
    expect(r).toMatchObject({ verifiedBy: 'zip-crc32', sha256: sha(image) });
    expect(readFileSync(dest).equals(image)).toBe(true);
    expect(gh.seen.filter((s) => s.host === 'cdn').some((s) => s.headers.authorization)).toBe(false);
  });

  it("takes the PR's own head commit's build, never a newer run of a fork's branch of the same name", async () => {
    const good = makeZip([['stack-emulator-amd64.qcow2', image]]);
    const evil = makeZip([['stack-emulator-amd64.qcow2', Buffer.from('an image from a fork')]]);
    gh.addBlob('artifact-6', good);
    gh.addBlob('artifact-7', evil);
    gh.pulls.set(12, { ref: 'patch-1', sha: 'a'.repeat(40) });
    gh.runs = [
      // Newest first: someone's fork pushed a branch named patch-1 too, and its build succeeded later.
      { id: 77, head_branch: 'patch-1', head_sha: 'f'.repeat(40), conclusion: 'success' },
      { id: 9, head_branch: 'patch-1', head_sha: 'a'.repeat(40), conclusion: 'success' },
    ];
    gh.artifacts = [
      { ...artifact(6, good.length), workflow_run: { id: 9 } },
      { ...artifact(7, evil.length), workflow_run: { id: 77 } },
    ];
    const r = await fetchImage({
      source: { kind: 'pr', repo, pr: 12, artifact: 'qemu-emulator-amd64', file: 'stack-emulator-amd64.qcow2' },
      dest,
      apiBase: gh.apiUrl,
      token: TOKEN,
      retries: 0,
      env,
    });
    expect(r.sha256).toBe(sha(image));
    expect(readFileSync(dest).equals(image)).toBe(true);
    expect(gh.seen.some((s) => s.url.includes('/runs/77/'))).toBe(false);
  });

  it('says so when no build of the PR head commit has succeeded (only a fork run of the same branch name has)', async () => {
    gh.pulls.set(12, { ref: 'patch-1', sha: 'a'.repeat(40) });
    gh.runs = [
      { id: 77, head_branch: 'patch-1', head_sha: 'f'.repeat(40), conclusion: 'success' },
      { id: 9, head_branch: 'patch-1', head_sha: 'a'.repeat(40), conclusion: 'failure' },
    ];
    const err = (await fetchImage({
      source: { kind: 'pr', repo, pr: 12, artifact: 'qemu-emulator-amd64', file: 'stack-emulator-amd64.qcow2' },
      dest,
      apiBase: gh.apiUrl,
      token: TOKEN,
      retries: 0,
      env,
    }).catch((e) => e)) as FetchError;
    expect(err.code).toBe('FETCH_NOT_FOUND');
    expect(err.message).toContain('PR #12');
    expect(err.message).toContain('a'.repeat(40));
    expect(err.message).toMatch(/has not succeeded/);
    expect(readFileSync(dest).equals(oldImage)).toBe(true);
  });

  it('needs a token for artifacts', async () => {
    const err = (await fetchImage({
      source: { kind: 'run', repo, runId: '9', artifact: 'qemu-emulator-amd64', file: 'x.qcow2' },
      dest,
      apiBase: gh.apiUrl,
      env,
    }).catch((e) => e)) as FetchError;
    expect(err.code).toBe('FETCH_AUTH_REQUIRED');
  });
});
