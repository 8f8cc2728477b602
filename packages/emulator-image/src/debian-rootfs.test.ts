import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeBuildHost } from '../test/fake-build-host.js';
import { aptInChroot } from './debian-rootfs.js';

function rootfs(): { root: string; log: string } {
  const d = realpathSync(mkdtempSync(join(tmpdir(), 'debian-rootfs-')));
  mkdirSync(join(d, 'rootfs/usr/sbin'), { recursive: true });
  mkdirSync(join(d, 'rootfs/proc'));
  writeFileSync(join(d, 'build.log'), '');
  return { root: join(d, 'rootfs'), log: join(d, 'build.log') };
}

describe('aptInChroot', () => {
  it('leaves no mount in a cached tree that an older build left two stacked procs in', async () => {
    // The appliance build runs apt in the cached base's tree: it cleans what an older build left.
    const { root, log } = rootfs();
    const host = fakeBuildHost();
    host.mounts.push(join(root, 'proc'), join(root, 'proc'));
    await aptInChroot(root, log, ['update'], host.seams);
    expect(host.commands.filter((c) => c.startsWith('umount'))).toEqual(Array(3).fill(`umount -l ${root}/proc`));
    expect(host.mounts).toEqual([]);
  });

  it('a failed step whose mounts stay: the error names both', async () => {
    const { root, log } = rootfs();
    const host = fakeBuildHost({
      umountTakesNothing: true,
      onCommand: (cmd) => {
        if (cmd === 'chroot') throw new Error('apt-get failed (100)');
      },
    });
    const err = (await aptInChroot(root, log, ['update'], host.seams).catch((e: Error) => e)) as Error;
    expect(err.message).toContain(`1 mount(s) remain under ${root} after 4 rounds of umount -l: ${root}/proc.`);
    expect(err.message).toContain('The step had failed first: apt-get failed (100)');
  });

  it('a failed step whose mount goes: its own error, the tree clean', async () => {
    const { root, log } = rootfs();
    const host = fakeBuildHost({
      onCommand: (cmd) => {
        if (cmd === 'chroot') throw new Error('apt-get failed (100)');
      },
    });
    await expect(aptInChroot(root, log, ['update'], host.seams)).rejects.toThrow(/^apt-get failed \(100\)$/);
    expect(host.mounts).toEqual([]);
  });
});
