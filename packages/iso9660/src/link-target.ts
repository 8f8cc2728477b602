/** Symlinks followed at most while resolving one target: Linux's own limit (MAXSYMLINKS, 40). */
const MAX_HOPS = 40;

/** Why a link's target leaves the extraction root, or undefined when it stays inside. */
export type LinkEscape = 'absolute' | 'parent' | 'loop';

/**
 * Sans-I/O: whether the symlink at `linkPath` (root-relative, `/`-separated, leading slash), once
 * extracted, points outside the extraction root. `links` holds every symlink of the image by path.
 *
 * The check is not lexical: the kernel resolves a symlink before it applies the `..` after it, so
 * with `s -> .` the target `s/..` is the root's parent though it reads as the root. The walk below
 * does what path resolution does (POSIX.1-2017 4.13), over the tree being extracted: a name that is
 * a symlink is replaced by its target, relative to the directory holding it; `..` goes to the
 * parent of the directory actually reached. A name the image does not have is taken as a directory
 * (the kernel would stop there with ENOENT, which escapes nothing).
 */
export function linkEscape(linkPath: string, links: ReadonlyMap<string, string>): LinkEscape | undefined {
  const target = links.get(linkPath);
  if (target === undefined) return undefined;
  if (target.startsWith('/')) return 'absolute';
  const at = linkPath.split('/').filter(Boolean).slice(0, -1);
  const todo = target.split('/').reverse();
  let hops = 0;
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      if (at.length === 0) return 'parent';
      at.pop();
      continue;
    }
    const next = links.get(`/${[...at, name].join('/')}`);
    if (next === undefined) {
      at.push(name);
      continue;
    }
    if (++hops > MAX_HOPS) return 'loop';
    if (next.startsWith('/')) return 'absolute';
    todo.push(...next.split('/').reverse());
  }
  return undefined;
}
