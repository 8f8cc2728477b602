import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeBuildHost } from '../test/fake-build-host.js';
import { buildBase } from './base-image.js';

const INPUTS = { recipe: 0, suite: 'trixie', arch: 'amd64' as const };
const OPTIONS = { arch: 'amd64' as const, mirror: 'http://deb.example/debian' };

/** A cache with a space in its path: the mount table spells it \040. */
function cache(): { dir: string; tmp: string; rootfs: string } {
  const root = join(realpathSync(mkdtempSync(join(tmpdir(), 'base-image-'))), 'my cache', 'base-images');
  mkdirSync(root, { recursive: true });
  const dir = join(root, 'debian-trixie-amd64-0123456789abcdef');
  const tmp = `${dir}.tmp-${process.pid}`;
  return { dir, tmp, rootfs: join(tmp, 'rootfs') };
}

describe('buildBase: mounts in the tree', () => {
  it('umounts a proc a package script stacked on the step’s own twice, then renames the tree', async () => {
    const { dir, rootfs } = cache();
    const host = fakeBuildHost({
      // A maintainer script of the first install mounts proc in the chroot and leaves it.
      onCommand: (cmd, args, mounts) => {
        if (cmd === 'chroot' && args.join(' ').endsWith('install e2fsprogs')) mounts.push(join(rootfs, 'proc'));
      },
    });
    await buildBase(dir, INPUTS, OPTIONS, host.seams);
    const step = host.commands.findIndex((c) => c.startsWith('chroot') && c.endsWith('install e2fsprogs'));
    expect(host.commands.slice(step - 1, step + 3)).toEqual([
      `mount -t proc proc ${rootfs}/proc`,
      expect.stringMatching(/^chroot .* install e2fsprogs$/),
      `umount -l ${rootfs}/proc`,
      `umount -l ${rootfs}/proc`,
    ]);
    // The other steps: one mount, one umount each.
    expect(host.commands.filter((c) => c.startsWith('umount'))).toHaveLength(4);
    expect(host.mounts).toEqual([]);
    expect(existsSync(join(dir, 'inputs.json'))).toBe(true);
    expect(existsSync(`${dir}.tmp-${process.pid}`)).toBe(false);
  });

  it('unmounts what debootstrap left in the tree (proc and a deeper mount) before the first step', async () => {
    const { dir, rootfs } = cache();
    const host = fakeBuildHost({
      onCommand: (cmd, _args, mounts) => {
        if (cmd === 'debootstrap') mounts.push(join(rootfs, 'proc'), join(rootfs, 'proc/sys/fs/binfmt_misc'));
      },
    });
    await buildBase(dir, INPUTS, OPTIONS, host.seams);
    const after = host.commands.findIndex((c) => c.startsWith('debootstrap'));
    expect(host.commands.slice(after + 1, after + 4)).toEqual([
      `umount -l ${rootfs}/proc/sys/fs/binfmt_misc`,
      `umount -l ${rootfs}/proc`,
      `mount -t proc proc ${rootfs}/proc`,
    ]);
    expect(existsSync(join(dir, 'inputs.json'))).toBe(true);
  });

  it('a mount that never goes: the build fails naming it, the tree is neither renamed nor removed', async () => {
    const { dir, tmp, rootfs } = cache();
    const host = fakeBuildHost({
      umountTakesNothing: true,
      onCommand: (cmd, _args, mounts) => {
        if (cmd === 'debootstrap') mounts.push(join(rootfs, 'proc'));
      },
    });
    const err = await buildBase(dir, INPUTS, OPTIONS, host.seams).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: string }).code).toBe('IMAGE_BUILD_FAILED');
    expect((err as Error).message).toContain(`1 mount(s) remain under ${rootfs} after 4 rounds of umount -l`);
    expect((err as Error).message).toContain(`${rootfs}/proc`);
    expect((err as Error).message).toContain(`${tmp} was kept, not removed`);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(join(tmp, 'rootfs', 'proc'))).toBe(true);
    expect(host.commands.some((c) => c.startsWith('sync') || c.startsWith('chroot'))).toBe(false);
  });

  it('a failed step with no mounts left: the temp directory is removed as before', async () => {
    const { dir, tmp } = cache();
    const host = fakeBuildHost({
      onCommand: (cmd, args) => {
        if (cmd === 'chroot' && args.join(' ').endsWith('install e2fsprogs')) throw new Error('apt-get failed (100)');
      },
    });
    await expect(buildBase(dir, INPUTS, OPTIONS, host.seams)).rejects.toThrow(/apt-get failed \(100\)/);
    expect(host.mounts).toEqual([]);
    expect(existsSync(tmp)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it('will not remove an earlier temp directory with a mount under it', async () => {
    const { dir, tmp } = cache();
    mkdirSync(join(tmp, 'rootfs/proc'), { recursive: true });
    const host = fakeBuildHost();
    host.mounts.push(join(tmp, 'rootfs/proc'));
    await expect(buildBase(dir, INPUTS, OPTIONS, host.seams)).rejects.toThrow(
      `not removing an earlier build's temp directory: 1 mount(s) remain under ${tmp}`,
    );
    expect(readdirSync(join(tmp, 'rootfs'))).toEqual(['proc']);
    expect(host.commands).toEqual([]);
  });
});
