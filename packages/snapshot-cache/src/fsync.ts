import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncDirectory, fsyncFile, tempPathFor } from '@stack/internal';

/**
 * How files and directories are made durable. A file is named as committed (renamed into place, or
 * named in a meta.json) only after its data and then its directory are synced: POSIX makes neither a
 * write nor a rename durable before fsync, and ext4/APFS reorder them across a power cut. Injected by
 * tests that record the order.
 */
export interface Fsync {
  /** The file's data (and size) reach the disk, e.g. what QEMU wrote through the page cache. */
  file(path: string): Promise<void>;
  /** The directory's entries (files created, linked or renamed into it) reach the disk. */
  dir(path: string): Promise<void>;
}

/** The real one: @stack/internal's (the one definition of the workspace). */
export const fsync: Fsync = { file: fsyncFile, dir: fsyncDirectory };

/**
 * Syncs every file under `dir` (but the paths in `skip`), then each directory bottom-up: the whole
 * tree is durable before it is named.
 */
export async function syncTree(dir: string, sync: Fsync = fsync, skip: ReadonlySet<string> = new Set()): Promise<void> {
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, d.name);
    if (d.isDirectory()) await syncTree(path, sync, skip);
    else if (d.isFile() && !skip.has(path)) await sync.file(path);
  }
  await sync.dir(dir);
}

/**
 * Writes `text` to a temp file in `path`'s directory and renames it over `path`; with `sync`, the file
 * is synced before the rename and the directory after. Unlike writeFileAtomic it never creates the
 * directory: a snapshot entry removed meanwhile must not come back as an empty directory (ENOENT).
 */
export async function replaceFile(path: string, text: string, sync: Fsync | undefined): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    await writeFile(tmp, text, { flag: 'wx', mode: 0o600 });
    await sync?.file(tmp);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await sync?.dir(dirname(path));
}
