import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectHost } from '../config/host-info.js';
import { resolveConfig } from '../config/resolve-config.js';
import { cachedBootMode, imageDigest, knownImageDigest } from './image.js';
import { bootModesCache, digestsCache, readImageCache } from './image-caches.js';

const work = mkdtempSync(join(tmpdir(), 'image-caches-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function home(name: string) {
  const h = join(work, name);
  mkdirSync(join(h, 'images'), { recursive: true });
  return resolveConfig({}, { STACK_EMULATOR_HOME: h, HOME: work }, detectHost({ platform: 'linux', arch: 'x64' }));
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const recorder = () => {
  const said: string[] = [];
  return { said, warn: (t: string) => said.push(t) };
};

describe('readImageCache', () => {
  it('reads a valid file, and a missing one as empty without a word', async () => {
    const c = home('valid');
    const { said, warn } = recorder();
    expect(await readImageCache(digestsCache(c), warn)).toEqual({});
    writeFileSync(c.paths.imageDigests, JSON.stringify({ 'a|1|2|3': sha('a') }));
    expect(await readImageCache(digestsCache(c), warn)).toEqual({ 'a|1|2|3': sha('a') });
    writeFileSync(bootModesCache(c).file, JSON.stringify({ [sha('a')]: 'bios' }));
    expect(await readImageCache(bootModesCache(c), warn)).toEqual({ [sha('a')]: 'bios' });
    expect(said).toEqual([]);
  });

  it('reads a torn or wrong-shaped file as empty, and says which file it was and that nothing is to be done', async () => {
    const c = home('invalid');
    for (const [file, text] of [
      [c.paths.imageDigests, '{"a|1|2|3": "ab'],
      [c.paths.imageDigests, 'null'],
      [c.paths.imageDigests, '["x"]'],
      [c.paths.imageDigests, JSON.stringify({ 'a|1|2|3': 42 })],
      [bootModesCache(c).file, JSON.stringify({ [sha('a')]: 'floppy' })],
    ] as const) {
      writeFileSync(file, text);
      const { said, warn } = recorder();
      const cache = file === c.paths.imageDigests ? digestsCache(c) : bootModesCache(c);
      expect(await readImageCache<unknown>(cache, warn)).toEqual({});
      expect(said).toHaveLength(1);
      expect(said[0]).toContain(file);
      expect(said[0]).toContain('is not valid');
      expect(said[0]).toContain('it is rebuilt, nothing to do');
      expect(said[0]).not.toContain('\n');
    }
  });

  it('reads a file it cannot read as empty too, with the reason', async () => {
    const c = home('unreadable');
    mkdirSync(c.paths.imageDigests); // EISDIR, even for root
    const { said, warn } = recorder();
    expect(await readImageCache(digestsCache(c), warn)).toEqual({});
    expect(said[0]).toMatch(/cannot be read \(.*EISDIR/);
  });
});

describe('imageDigest and digests.json', () => {
  it('remembers a computed digest, and finds it again without hashing', async () => {
    const c = home('remember');
    const image = join(c.paths.images, 'x.qcow2');
    writeFileSync(image, 'disk');
    expect(await knownImageDigest(c, image)).toBeUndefined();
    expect(await imageDigest(c, image)).toBe(sha('disk'));
    expect(await knownImageDigest(c, image)).toBe(sha('disk'));
  });

  // Regression: the file was cast, not validated: a non-digest under the image's key was returned as
  // its sha256 (and `null` crashed the start with a TypeError).
  it('does not take a wrong-shaped entry for the digest: it hashes again, warns, and rewrites the file', async () => {
    const c = home('wrong-shape');
    const image = join(c.paths.images, 'x.qcow2');
    writeFileSync(image, 'disk');
    const st = statSync(image);
    const id = `${resolve(image)}|${st.size}|${st.mtimeMs}|${st.ino}`;
    writeFileSync(c.paths.imageDigests, JSON.stringify({ [id]: 'not-a-digest' }));
    const { said, warn } = recorder();
    expect(await knownImageDigest(c, image, { warn })).toBeUndefined();
    expect(await imageDigest(c, image, { warn })).toBe(sha('disk'));
    expect(said).toHaveLength(2);
    expect(JSON.parse(readFileSync(c.paths.imageDigests, 'utf8'))).toEqual({ [id]: sha('disk') });
    writeFileSync(c.paths.imageDigests, 'null');
    expect(await imageDigest(c, image)).toBe(sha('disk'));
  });

  it('still fails on an image it cannot hash', async () => {
    const c = home('no-image');
    await expect(imageDigest(c, join(c.paths.images, 'none.qcow2'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('cachedBootMode and boot-modes.json', () => {
  it("answers from a valid file without reading the disk's boot sector", async () => {
    const c = home('boot-modes');
    writeFileSync(bootModesCache(c).file, JSON.stringify({ [sha('disk')]: 'uefi' }));
    const missing = join(c.paths.images, 'absent.qcow2'); // reading it would fail
    expect(await cachedBootMode(c, missing, sha('disk'))).toBe('uefi');
  });

  // Regression: a wrong-shaped mode was returned as-is; now the disk is read (and here, it fails plainly).
  it('does not answer from a wrong-shaped entry', async () => {
    const c = home('boot-modes-bad');
    writeFileSync(bootModesCache(c).file, JSON.stringify({ [sha('disk')]: 'floppy' }));
    const missing = join(c.paths.images, 'absent.qcow2');
    const { said, warn } = recorder();
    await expect(cachedBootMode(c, missing, sha('disk'), { warn })).rejects.toMatchObject({ code: 'IMAGE_MISSING' });
    expect(said).toHaveLength(1);
  });
});
