/** One line of /proc/self/mountinfo (proc(5)): the fields a build's cleanup needs. */
export interface MountEntry {
  id: number;
  parentId: number;
  /** Absolute, unescaped (`\040` is a space). */
  mountPoint: string;
  fsType: string;
}

/** The kernel escapes space, tab, newline and backslash in a path field as three octal digits. */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * The mounts of a mountinfo text, in its order (the order they were mounted in, so of two at one
 * point the later is the one on top). Lines it cannot read are skipped: the caller re-reads the
 * table after unmounting, so a line missed here is not taken for a clean tree by itself.
 */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    const fields = line.trim().split(' ');
    const sep = fields.indexOf('-', 6);
    if (fields.length < 7 || sep < 0) continue;
    const id = Number(fields[0]);
    const parentId = Number(fields[1]);
    if (!Number.isInteger(id) || !Number.isInteger(parentId)) continue;
    out.push({ id, parentId, mountPoint: unescapeMountField(fields[4]!), fsType: fields[sep + 1] ?? '' });
  }
  return out;
}

/**
 * The mounts at or below `dir` (an absolute path as the table spells it: resolved, no symlink), in
 * the order to unmount them: deepest first, and of a stack at one point, the top first. A sibling
 * that only shares the prefix (`rootfs2` for `rootfs`) is not below it.
 */
export function mountsUnder(mounts: readonly MountEntry[], dir: string): MountEntry[] {
  const root = dir.replace(/\/+$/, '');
  // "/" would take in every mount of the host: a caller's bug, never a tree to clean.
  if (!root.startsWith('/')) throw new Error(`mountsUnder needs an absolute path other than /, not "${dir}"`);
  const depth = (p: string) => p.split('/').length;
  return mounts
    .filter((m) => m.mountPoint === root || m.mountPoint.startsWith(`${root}/`))
    .reverse()
    .sort((a, b) => depth(b.mountPoint) - depth(a.mountPoint));
}
