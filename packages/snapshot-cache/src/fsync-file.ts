import { open } from 'node:fs/promises';

/** fsync of a file's data: what a shared mapping or QEMU wrote through the page cache reaches the disk. */
export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}
