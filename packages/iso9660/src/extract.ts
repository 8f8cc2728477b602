import { chmod, lutimes, mkdir, open, symlink, utimes } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { IsoError } from './errors.js';
import { IsoReader } from './reader.js';

/**
 * Extracts every entry of `image` below `dest` (created if missing), with modes, times and
 * symlinks. Names are checked so that nothing is written outside `dest`.
 */
export async function extractIso(
  image: string,
  dest: string,
): Promise<{ files: number; directories: number; symlinks: number }> {
  const reader = await IsoReader.open(image);
  const root = resolve(dest);
  const counts = { files: 0, directories: 0, symlinks: 0 };
  try {
    await mkdir(root, { recursive: true });
    const dirs: Array<{ path: string; mode: number; mtime: Date }> = [];
    for (const e of await reader.list()) {
      const target = resolve(join(root, e.path));
      if (!target.startsWith(root + sep))
        throw new IsoError('ISO_MALFORMED_IMAGE', `entry "${e.path}" would land outside ${root}`, { path: e.path });
      if (e.type === 'directory') {
        await mkdir(target, { recursive: true });
        dirs.push({ path: target, mode: e.mode, mtime: e.mtime });
        counts.directories++;
      } else if (e.type === 'symlink') {
        await symlink(e.target!, target);
        await lutimes(target, e.mtime, e.mtime).catch(() => {});
        counts.symlinks++;
      } else {
        const fh = await open(target, 'wx', 0o600);
        try {
          for await (const chunk of reader.read(e)) await fh.write(chunk);
        } finally {
          await fh.close();
        }
        await chmod(target, e.mode);
        await utimes(target, e.mtime, e.mtime);
        counts.files++;
      }
    }
    // Directory modes and times last: writing into them changes their mtime and may need write access.
    for (const d of dirs.reverse()) {
      await chmod(d.path, d.mode);
      await utimes(d.path, d.mtime, d.mtime);
    }
  } finally {
    await reader.close();
  }
  return counts;
}
