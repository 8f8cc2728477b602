import { realpathSync } from 'node:fs';
import type { BuildSeams } from './build-seams.js';
import { BuildError } from './errors.js';
import { mountsUnder, parseMountInfo } from './mount-table.js';

/** Rounds of umount before giving up: each unmounts every mount listed, so one is the usual. */
const ROUNDS = 4;

/**
 * The mount points at or below `dir`, in the order to unmount them (one entry per mount: a point
 * with two stacked mounts is listed twice). None when `dir` does not exist.
 */
export function mountPointsUnder(dir: string, readMountInfo: () => string): string[] {
  let real: string;
  try {
    // The table names resolved paths: a cache reached through a symlink must still match.
    real = realpathSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return mountsUnder(parseMountInfo(readMountInfo()), real).map((m) => m.mountPoint);
}

/**
 * Throws when anything is mounted at or below `dir`: removing or walking the tree would go into
 * the mounts (a proc mount is the host's /proc). `verdict` says what is refused and why.
 */
export function refuseIfMounted(dir: string, readMountInfo: () => string, verdict: string, detail = ''): void {
  const points = mountPointsUnder(dir, readMountInfo);
  if (points.length === 0) return;
  throw new BuildError(
    'IMAGE_BUILD_FAILED',
    `${verdict}: ${points.length} mount(s) remain under ${dir}${detail}: ${points.join(', ')}. As root, ` +
      'unmount each (umount -l <path>, deepest first, once for each time a path is listed) first.',
  );
}

/**
 * Unmounts every mount at or below `dir`, deepest first, each of a stack in turn (`umount -l` takes
 * only the top one), until the mount table lists none; else throws naming what remains. Something
 * other than the build mounts in its tree too (debootstrap's second stage, package scripts in the
 * chroot), so the table decides, not what the build itself mounted.
 */
export async function unmountAllUnder(dir: string, seams: BuildSeams, log: string): Promise<void> {
  let failure = '';
  for (let round = 0; round < ROUNDS; round++) {
    const points = mountPointsUnder(dir, seams.readMountInfo);
    if (points.length === 0) return;
    for (const point of points)
      // Kept for the error, not thrown: unmounting one of a stack or a parent may have taken this one.
      await seams.run('umount', ['-l', point], { log }).catch((e: Error) => {
        failure = `; the last failed: ${e.message.split('\n')[0]}`;
      });
  }
  refuseIfMounted(
    dir,
    seams.readMountInfo,
    'the build stops and leaves its tree as it is (a tree with mounts under it is never renamed or removed)',
    ` after ${ROUNDS} rounds of umount -l${failure}`,
  );
}
