import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeGitHub } from '../../../../tools/testing/fake-github.js';
import { hasTools } from '../../../../tools/testing/requires.js';
import { makeTestCa } from '../../../../tools/testing/tls-ca.js';
import { type FetchError, fetchImage } from '../../src/index.js';

// Workflow artifacts as GitHub serves them (zip, through the API, redirected to storage), built by
// Python's zipfile, including the hostile ones: a member that inflates past its declared size, two
// members with one name, a decoy in a subdirectory, a symlink, `../`, a truncated archive.
const ok = hasTools('python3');
const ca = makeTestCa();
const env = { NODE_EXTRA_CA_CERTS: ca.caFile };
const gh = new FakeGitHub({ tls: ca });
const image = randomBytes(1024 * 1024 + 7);
const oldImage = Buffer.from('the image the user has now');
const TOKEN = 'ghp_test';
const FILE = 'stack-emulator-amd64.qcow2';
let dir: string;
let dest: string;
let nextId = 100;

/**
 * A zip of `members`: [name, data, options]. `symlink` makes the member a Unix symlink; `claim` patches
 * the declared uncompressed size (central directory and local header) after writing.
 */
function makeZip(members: Array<[string, Buffer, { symlink?: boolean; claim?: number }?]>): Buffer {
  const d = mkdtempSync(join(tmpdir(), 'zip-'));
  const spec = members.map(([name, data, o], i) => {
    writeFileSync(join(d, `m${i}`), data);
    return { name, path: join(d, `m${i}`), symlink: Boolean(o?.symlink), claim: o?.claim ?? null };
  });
  const out = join(d, 'a.zip');
  const py = `
import sys, json, zipfile, struct, warnings
warnings.simplefilter('ignore')
out, spec = sys.argv[1], json.loads(sys.argv[2])
with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
    for m in spec:
        data = open(m['path'], 'rb').read()
        info = zipfile.ZipInfo(m['name'])
        info.create_system = 3
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = ((0o120777 if m['symlink'] else 0o100644) << 16)
        z.writestr(info, data)
raw = bytearray(open(out, 'rb').read())
for m in spec:
    if m['claim'] is None: continue
    name = m['name'].encode()
    c = raw.find(b'PK\\x01\\x02' + b'' ); 
    while c >= 0:
        if raw[c+46:c+46+len(name)] == name:
            struct.pack_into('<I', raw, c+24, m['claim'])
            off = struct.unpack_from('<I', raw, c+42)[0]
            struct.pack_into('<I', raw, off+22, m['claim'])
        c = raw.find(b'PK\\x01\\x02', c+4)
open(out, 'wb').write(raw)
`;
  execFileSync('python3', ['-c', py, out, JSON.stringify(spec)]);
  const data = readFileSync(out);
  rmSync(d, { recursive: true, force: true });
  return data;
}

/** Publishes `zip` as the artifact of run 9 and pulls it. */
function pullArtifact(zip: Buffer) {
  const id = nextId++;
  gh.addBlob(`artifact-${id}`, zip);
  gh.artifacts = [
    {
      id,
      name: 'qemu-emulator-amd64',
      size_in_bytes: zip.length,
      archive_download_url: `${gh.apiUrl}/repos/o/r/actions/artifacts/${id}/zip`,
      expired: false,
    },
  ];
  return fetchImage({
    source: { kind: 'run', repo: 'o/r', runId: '9', artifact: 'qemu-emulator-amd64', file: FILE },
    dest,
    apiBase: gh.apiUrl,
    token: TOKEN,
    retries: 0,
    env,
  });
}

const refused = async (zip: Buffer) => {
  const err = (await pullArtifact(zip).then(
    () => undefined,
    (e: unknown) => e,
  )) as FetchError;
  expect(err?.code).toBe('FETCH_BAD_ARCHIVE');
  expect(readFileSync(dest).equals(oldImage)).toBe(true);
  // Nothing is left to resume: the next pull starts from scratch.
  expect(readdirSync(join(dir, 'images')).sort()).toEqual([FILE]);
  return err;
};

beforeAll(() => gh.listen());
afterAll(() => {
  gh.close();
  ca.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'artifact-'));
  mkdirSync(join(dir, 'images'));
  dest = join(dir, 'images', FILE);
  writeFileSync(dest, oldImage);
  return () => rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!ok)('artifact archives', () => {
  it('extracts the exact member, hashing it on the way', async () => {
    const r = await pullArtifact(
      makeZip([
        ['README.txt', Buffer.from('hi')],
        [FILE, image],
      ]),
    );
    expect(r).toMatchObject({
      verifiedBy: 'zip-crc32',
      sha256: createHash('sha256').update(image).digest('hex'),
      size: image.length,
    });
    expect(readFileSync(dest).equals(image)).toBe(true);
  });

  it('stops inflating at the declared size: a member claiming 1 MiB that inflates to 100 MiB', async () => {
    const err = await refused(makeZip([[FILE, Buffer.alloc(100 << 20), { claim: 1 << 20 }]]));
    // yauzl stops within one inflate chunk of the declared size.
    expect(err.message).toMatch(/too many bytes in the stream. expected 1048576. got at least (\d+)/);
    expect(Number(/got at least (\d+)/.exec(err.message)![1])).toBeLessThan(2 << 20);
  });

  it('refuses duplicate names', async () => {
    const err = await refused(
      makeZip([
        [FILE, image],
        [FILE, randomBytes(10)],
      ]),
    );
    expect(err.message).toContain('appears more than once');
  });

  it('refuses a decoy in a subdirectory instead of taking it by its basename', async () => {
    const err = await refused(makeZip([[`junk/${FILE}`, image]]));
    expect(err.message).toContain(`junk/${FILE}`);
  });

  it('refuses a symlink member (it would be installed as a file)', async () => {
    const err = await refused(makeZip([[FILE, Buffer.from('/etc/passwd'), { symlink: true }]]));
    expect(err.message).toContain('not a regular file');
  });

  it('refuses a member that would be written outside, and writes nothing there', async () => {
    await refused(
      makeZip([
        ['../evil.qcow2', Buffer.from('x')],
        [FILE, image],
      ]),
    );
    expect(existsSync(join(dir, 'evil.qcow2'))).toBe(false);
  });

  it('discards a broken archive, so the next pull downloads afresh (no 416 on a resume)', async () => {
    const good = makeZip([[FILE, image]]);
    await refused(good.subarray(0, good.length - 30));
    gh.seen.length = 0;
    const r = await pullArtifact(good);
    expect(r.sha256).toBe(createHash('sha256').update(image).digest('hex'));
    expect(gh.seen.filter((s) => s.host === 'cdn').every((s) => s.headers.range === undefined)).toBe(true);
  });
});
