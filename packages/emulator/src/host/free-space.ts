import type { DiskSpace } from '../seams/host.js';
import { statfs } from 'node:fs/promises';

/** Bytes free to this user on the file system of `dir`, or undefined when it cannot be asked. */
export async function freeBytes(dir: string): Promise<number | undefined> {
  const fs = await statfs(dir).catch(() => undefined);
  return fs ? fs.bavail * fs.bsize : undefined;
}

/** statfs f_type of tmpfs (include/uapi/linux/magic.h, TMPFS_MAGIC). */
const TMPFS_MAGIC = 0x01021994;

/** Whether `dir` is on a tmpfs, where a hole read through a private mapping allocates (DiskSpace.fillsHolesOnRead). */
export async function fillsHolesOnRead(dir: string): Promise<boolean> {
  const fs = await statfs(dir).catch(() => undefined);
  return fs?.type === TMPFS_MAGIC;
}

/** Room kept free beyond what a file may grow to: the rest of the home (logs, the disk overlay) needs some too. */
const HEADROOM = 512 * 1024 * 1024;

/**
 * Whether a file that may grow to `bytes` (a session's RAM file: sparse, filled as the guest touches
 * its memory) fits in `dir`. A guest write into a hole of a file mapped shared on a full file system
 * is SIGBUS, and QEMU dies with it; so such a file is only used where it can grow whole.
 */
export async function roomFor(
  disk: DiskSpace,
  dir: string,
  bytes: number,
): Promise<{ fits: boolean; free: number | undefined }> {
  const free = await disk.freeBytes(dir);
  return { fits: free === undefined || free >= bytes + HEADROOM, free };
}
