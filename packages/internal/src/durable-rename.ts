import { readdir, rename, stat } from 'node:fs/promises';
import { syncPath } from './fsync.js';
import { dirname, join } from 'node:path';

/** The file-system calls {@link renameDurably} makes, in the order it makes them; tests inject a recorder. */
export interface DurableRenameOps {
  /** fsync of a file or a directory (opened read-only: enough for both on Linux and macOS). */
  sync(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** The names in `path` when it is a directory, undefined for a file. */
  entries(path: string): Promise<string[] | undefined>;
}

/** The real file system. */
export const fsRenameOps: DurableRenameOps = {
  sync: syncPath,
  rename: (from, to) => rename(from, to),
  entries: async (path) => ((await stat(path)).isDirectory() ? readdir(path) : undefined),
};

/**
 * Names a finished file or directory: fsyncs its data, renames it to `to`, then fsyncs the directory
 * of `to`. A rename is atomic but not durable: without the first fsync a power cut can leave `to`
 * naming a file whose blocks never reached the disk (ext4's delayed allocation, XFS), and without the
 * second the rename itself can be lost. For a directory, each file directly in it is synced, then the
 * directory; a deeper tree is the caller's to flush (many files are cheaper with one `syncfs`).
 */
export async function renameDurably(from: string, to: string, options: { ops?: DurableRenameOps } = {}): Promise<void> {
  const ops = options.ops ?? fsRenameOps;
  const names = await ops.entries(from);
  // A subdirectory is synced as a directory (its entries), not its contents (see above).
  for (const name of names ?? []) await ops.sync(join(from, name));
  await ops.sync(from);
  await ops.rename(from, to);
  await ops.sync(dirname(to));
}
