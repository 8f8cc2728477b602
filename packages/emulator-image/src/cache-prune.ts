import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readMountInfo } from './build-seams.js';
import { BuildError } from './errors.js';
import { mountPointsUnder } from './tree-mounts.js';

/**
 * Removes all but the newest `keep` cache entries of `dir` whose names match `pattern` (with their
 * `.sha256`, `.log` and `.boot` sidecars). Called after a build adds an entry: every input change otherwise
 * left another 400 MB image behind for good. Two are kept so that switching between two branches
 * does not rebuild each time. Cached images are standalone (no backing file), so removing one never
 * breaks another. An entry with a mount under it (a base image's chroot left with the host's /proc
 * in it) is not removed: the others are, then this throws naming the mounts.
 */
export function pruneCache(
  dir: string,
  pattern: RegExp,
  keep = 2,
  mountInfo: () => string = () => readMountInfo(),
): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => pattern.test(n));
  } catch {
    return [];
  }
  const byAge = names
    .map((n) => ({ n, mtime: statSync(join(dir, n)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime || b.n.localeCompare(a.n));
  const removed: string[] = [];
  const refused: string[] = [];
  let table: string | undefined;
  const once = () => (table ??= mountInfo());
  for (const { n } of byAge.slice(keep)) {
    const paths = [n, `${n}.sha256`, `${n}.log`, `${n}.boot`].map((p) => join(dir, p));
    const mounts = paths.flatMap((p) => mountPointsUnder(p, once));
    if (mounts.length > 0) {
      refused.push(`${join(dir, n)} (mounted: ${mounts.join(', ')})`);
      continue;
    }
    for (const p of paths) rmSync(p, { recursive: true, force: true });
    removed.push(n);
  }
  if (refused.length > 0)
    throw new BuildError(
      'IMAGE_BUILD_FAILED',
      `not removing older cache entries with mounts under them: ${refused.join('; ')}. As root, unmount each ` +
        '(umount -l <path>, deepest first, once for each time a path is listed), then remove the entry.',
    );
  return removed;
}
