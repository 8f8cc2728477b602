import { describe, expect, it } from 'vitest';
import { mountsUnder, parseMountInfo, unescapeMountField } from './mount-table.js';

const BASE = '/home/u/.cache/stack-emulator/base-images/debian-trixie-amd64-0123456789abcdef';

/** Lines as /proc/self/mountinfo has them (the host's own, then what a build left in its tree). */
const TABLE = [
  '22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw',
  '24 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  `44 24 0:55 / ${BASE}/rootfs/proc rw,relatime - proc proc rw`,
  `45 44 0:56 / ${BASE}/rootfs/proc rw,relatime - proc proc rw`,
  `46 24 0:57 / ${BASE}/rootfs/sys rw,relatime - sysfs sysfs rw`,
  `47 45 0:58 / ${BASE}/rootfs/proc/sys/fs/binfmt_misc rw,relatime - binfmt_misc binfmt_misc rw`,
  `48 24 0:59 / ${BASE}/rootfs2/proc rw,relatime - proc proc rw`,
  '',
].join('\n');

describe('parseMountInfo', () => {
  it('reads id, parent, mount point and type, with optional fields before the separator', () => {
    expect(parseMountInfo(TABLE).slice(0, 3)).toEqual([
      { id: 22, parentId: 1, mountPoint: '/proc', fsType: 'proc' },
      { id: 24, parentId: 1, mountPoint: '/', fsType: 'ext4' },
      { id: 44, parentId: 24, mountPoint: `${BASE}/rootfs/proc`, fsType: 'proc' },
    ]);
  });

  it('unescapes octal escapes in the mount point (space, tab, newline, backslash)', () => {
    expect(unescapeMountField('/a\\040b\\011c\\012d\\134e')).toBe('/a b\tc\nd\\e');
    const [m] = parseMountInfo('50 24 0:60 / /home/u/my\\040cache/rootfs/proc rw - proc proc rw\n');
    expect(m?.mountPoint).toBe('/home/u/my cache/rootfs/proc');
  });

  it('skips lines it cannot read', () => {
    expect(parseMountInfo('garbage\n\n1 2 3\n')).toEqual([]);
  });
});

describe('mountsUnder', () => {
  const all = parseMountInfo(TABLE);

  it('lists every mount below the tree, deepest first, the top of a stack before the one beneath', () => {
    expect(mountsUnder(all, `${BASE}/rootfs`).map((m) => m.id)).toEqual([47, 46, 45, 44]);
  });

  it('lists both mounts of a stack at one point, so each gets its own umount', () => {
    const stacked = mountsUnder(all, `${BASE}/rootfs/proc`).filter((m) => m.mountPoint === `${BASE}/rootfs/proc`);
    expect(stacked.map((m) => m.id)).toEqual([45, 44]);
  });

  it('includes a mount at the directory itself, and takes a trailing slash', () => {
    expect(mountsUnder(all, `${BASE}/rootfs/sys/`).map((m) => m.id)).toEqual([46]);
  });

  it('does not match a sibling that only shares the prefix (rootfs2 for rootfs)', () => {
    expect(mountsUnder(all, `${BASE}/rootfs`).some((m) => m.mountPoint.includes('rootfs2'))).toBe(false);
    expect(mountsUnder(all, `${BASE}/rootfs2`).map((m) => m.id)).toEqual([48]);
  });

  it('matches an escaped path once unescaped', () => {
    const table = parseMountInfo('50 24 0:60 / /home/u/my\\040cache/rootfs/proc rw - proc proc rw\n');
    expect(mountsUnder(table, '/home/u/my cache/rootfs')).toHaveLength(1);
    expect(mountsUnder(table, '/home/u/my')).toHaveLength(0);
  });

  it('refuses / and relative paths (every host mount would be "under" them)', () => {
    expect(() => mountsUnder(all, '/')).toThrow(/absolute path other than \//);
    expect(() => mountsUnder(all, 'rootfs')).toThrow(/absolute path/);
  });

  it('is empty for a tree with no mounts', () => {
    expect(mountsUnder(all, `${BASE}/work`)).toEqual([]);
  });
});
