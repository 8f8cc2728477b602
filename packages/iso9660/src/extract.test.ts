import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractIso } from './extract.js';
import type { IsoEntry } from './tree.js';
import { buildIso } from './writer.js';

const date = new Date('2026-01-01T00:00:00Z');

/**
 * An image the writer would refuse: it is written with distinct names, then Rock Ridge NM entries
 * (the names the reader uses) are renamed in place, e.g. a directory `bb` to `aa` beside a symlink
 * `aa`. Renames keep the length, so every record stays where it is.
 */
async function craftedImage(dir: string, entries: IsoEntry[], renames: Record<string, string>): Promise<string> {
  const img = await buildIso(entries, { volumeId: 'CRAFTED', rockRidge: true, date });
  for (const [from, to] of Object.entries(renames)) {
    if (from.length !== to.length) throw new Error('renames must keep the length');
    const nm = (name: string) => Buffer.concat([Buffer.from([0x4e, 0x4d, 5 + name.length, 1, 0]), Buffer.from(name)]);
    const at = img.indexOf(nm(from));
    if (at < 0 || img.indexOf(nm(from), at + 1) >= 0) throw new Error(`no unique NM entry for ${from}`);
    nm(to).copy(img, at);
  }
  const path = join(dir, 'crafted.iso');
  writeFileSync(path, img);
  return path;
}

const workDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'iso-extract-'));
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  return { dir, dest: join(dir, 'dest'), outside };
};

describe('extractIso on crafted images', () => {
  it('refuses a symlink and a directory of one name, writing nothing through the link (absolute target)', async () => {
    const { dir, dest, outside } = workDir();
    const image = await craftedImage(
      dir,
      [
        { type: 'symlink', path: 'aa', target: outside },
        { type: 'file', path: 'bb/owned', data: 'written through the link\n' },
      ],
      { bb: 'aa' },
    );
    await expect(extractIso(image, dest)).rejects.toMatchObject({ code: 'ISO_NAME_COLLISION', path: '/aa' });
    expect(existsSync(join(outside, 'owned'))).toBe(false);
  });

  it('refuses the same with a relative ../ target', async () => {
    const { dir, dest, outside } = workDir();
    const image = await craftedImage(
      dir,
      [
        { type: 'symlink', path: 'aa', target: '../outside' },
        { type: 'file', path: 'bb/owned', data: 'x' },
      ],
      { bb: 'aa' },
    );
    await expect(extractIso(image, dest)).rejects.toMatchObject({ code: 'ISO_NAME_COLLISION' });
    expect(existsSync(join(outside, 'owned'))).toBe(false);
  });

  it('refuses two files of one name', async () => {
    const { dir, dest } = workDir();
    const image = await craftedImage(
      dir,
      [
        { type: 'file', path: 'aa', data: 'one' },
        { type: 'file', path: 'bb', data: 'two' },
      ],
      { bb: 'aa' },
    );
    await expect(extractIso(image, dest)).rejects.toMatchObject({ code: 'ISO_NAME_COLLISION', path: '/aa' });
  });

  it('refuses symlinks that leave the destination, before writing anything, unless asked to keep them', async () => {
    for (const target of ['/etc/passwd', '../../outside', 'x/../../..']) {
      const { dir, dest } = workDir();
      const image = await craftedImage(
        dir,
        [
          { type: 'file', path: 'sub/f', data: 'f' },
          { type: 'symlink', path: 'sub/link', target },
        ],
        {},
      );
      const err = await extractIso(image, dest).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ISO_UNSAFE_ENTRY', path: '/sub/link' });
      expect((err as Error).message).toContain(target);
      expect(existsSync(join(dest, 'sub'))).toBe(false);
      const kept = join(dir, 'kept');
      expect(await extractIso(image, kept, { keepEscapingSymlinks: true })).toEqual({
        files: 1,
        directories: 1,
        symlinks: 1,
      });
      expect(readlinkSync(join(kept, 'sub/link'))).toBe(target);
    }
  });

  it('refuses a target that reads as inside but resolves outside through another link (s -> ., t -> s/..)', async () => {
    const { dir, dest } = workDir();
    const image = await craftedImage(
      dir,
      [
        { type: 'symlink', path: 's', target: '.' },
        { type: 'symlink', path: 't', target: 's/..' },
      ],
      {},
    );
    await expect(extractIso(image, dest)).rejects.toMatchObject({ code: 'ISO_UNSAFE_ENTRY', path: '/t' });
  });

  it('never writes through a symlink already in the destination', async () => {
    const { dir, dest, outside } = workDir();
    const image = await craftedImage(dir, [{ type: 'file', path: 'aa/owned', data: 'x' }], {});
    mkdirSync(dest);
    symlinkSync(outside, join(dest, 'aa'));
    await expect(extractIso(image, dest)).rejects.toMatchObject({ code: 'ISO_UNSAFE_ENTRY', path: '/aa' });
    expect(existsSync(join(outside, 'owned'))).toBe(false);
  });

  it('extracts links that stay inside, files, modes and times, and refuses to replace what is there', async () => {
    const { dir, dest } = workDir();
    const image = await craftedImage(
      dir,
      [
        { type: 'file', path: 'bin/run.sh', data: '#!/bin/sh\n', mode: 0o755 },
        { type: 'directory', path: 'ro', mode: 0o750 },
        { type: 'symlink', path: 'ro/up', target: '../bin/run.sh' },
        { type: 'symlink', path: 'bin/self', target: '.' },
      ],
      {},
    );
    expect(await extractIso(image, dest)).toEqual({ files: 1, directories: 2, symlinks: 2 });
    expect(readFileSync(join(dest, 'ro/up'), 'utf8')).toBe('#!/bin/sh\n');
    expect(lstatSync(join(dest, 'bin/run.sh')).mode & 0o777).toBe(0o755);
    expect(lstatSync(join(dest, 'ro')).mode & 0o777).toBe(0o750);
    expect(lstatSync(join(dest, 'bin/run.sh')).mtime).toEqual(date);
    expect(readlinkSync(join(dest, 'bin/self'))).toBe('.');
    await expect(extractIso(image, dest)).rejects.toMatchObject({ code: 'ISO_NAME_COLLISION', path: '/bin/run.sh' });
  });
});
