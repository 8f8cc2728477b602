import { open } from 'node:fs/promises';

/**
 * fsync of a file's data (fdatasync: the size too, when it changed): what was written through the
 * page cache, by this process, a worker, QEMU or copyFile, reaches the disk. Do it before the file
 * gets its final name, so a power cut never leaves a named but half-written file.
 */
export async function fsyncFile(path: string): Promise<void> {
  // Read-only: Linux and macOS sync through any descriptor, and frozen snapshot disks are mode 0444
  // (opening them for writing fails for anyone but root).
  const fh = await open(path, 'r');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** fsync of a file or a directory: its data, or the entries it holds (a rename into it), reach the disk. */
export async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync of a directory: the entries it holds (a rename into it) reach the disk. POSIX keeps them in its data. */
export async function fsyncDirectory(dir: string): Promise<void> {
  await syncPath(dir);
}
