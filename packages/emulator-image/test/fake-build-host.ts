import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildSeams } from '../src/build-seams.js';
import { BuildError } from '../src/errors.js';

/** What a step did to the fake kernel's mount table, given the command it ran. */
export type MountSideEffect = (cmd: string, args: string[], mounts: string[]) => void;

/**
 * A host for a base image build in unit tests: commands are recorded, not run; `mount` and
 * `umount -l` change a mount table kept here (umount takes the top of a stack, as the kernel's),
 * and readMountInfo renders it as /proc/self/mountinfo, escapes and all. debootstrap makes the few
 * files of a tree the later steps read.
 */
export function fakeBuildHost(options: { onCommand?: MountSideEffect; umountTakesNothing?: boolean } = {}): {
  seams: BuildSeams;
  commands: string[];
  mounts: string[];
} {
  const commands: string[] = [];
  const mounts: string[] = [];
  const run: BuildSeams['run'] = async (cmd, args) => {
    commands.push(`${cmd} ${args.join(' ')}`);
    if (cmd === 'debootstrap') {
      const root = args[3]!;
      for (const d of ['usr/sbin', 'proc', 'sys', 'boot']) mkdirSync(join(root, d), { recursive: true });
      writeFileSync(join(root, 'boot/vmlinuz-6.12.0-1-amd64'), 'kernel');
      writeFileSync(join(root, 'boot/initrd.img-6.12.0-1-amd64'), 'initrd');
    }
    if (cmd === 'mount') mounts.push(args.at(-1)!);
    if (cmd === 'umount') {
      const at = mounts.lastIndexOf(args.at(-1)!);
      if (at < 0)
        throw new BuildError('IMAGE_BUILD_FAILED', `umount failed (32):\numount: ${args.at(-1)}: not mounted`);
      if (!options.umountTakesNothing) mounts.splice(at, 1);
    }
    options.onCommand?.(cmd, args, mounts);
    return '';
  };
  const escape = (p: string) => p.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  const readMountInfo = () =>
    [
      '22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw',
      '24 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      ...mounts.map((m, i) => `${44 + i} 24 0:${55 + i} / ${escape(m)} rw,relatime - proc proc rw`),
      '',
    ].join('\n');
  return { seams: { run, readMountInfo }, commands, mounts };
}
