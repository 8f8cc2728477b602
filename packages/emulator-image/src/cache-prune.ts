import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Removes all but the newest `keep` cache entries of `dir` whose names match `pattern` (with their
 * `.sha256`, `.log` and `.boot` sidecars). Called after a build adds an entry: every input change otherwise
 * left another 400 MB image behind for good. Two are kept so that switching between two branches
 * does not rebuild each time. Cached images are standalone (no backing file), so removing one never
 * breaks another.
 */
export function pruneCache(dir: string, pattern: RegExp, keep = 2): string[] {
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
  for (const { n } of byAge.slice(keep)) {
    for (const p of [n, `${n}.sha256`, `${n}.log`, `${n}.boot`]) rmSync(join(dir, p), { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}
