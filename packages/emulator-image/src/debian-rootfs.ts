import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyRootfsConfig, earlyRootfsFiles, rootfsConfig } from './rootfs-config.js';
import { writeRootfsFile } from './rootfs-file.js';
import { type BuildSeams, realBuildSeams } from './build-seams.js';
import { unmountAllUnder } from './tree-mounts.js';
import type { Arch } from '@stack/internal';

/**
 * Debian 13 packages of the base image: what the official cloud image gives an appliance, and
 * e2fsprogs (not in minbase since Debian 12): the initramfs checks the root with its e2fsck.
 */
export const BASE_PACKAGES = [
  'e2fsprogs',
  'systemd-sysv',
  'udev',
  'kmod',
  'iproute2',
  'cloud-init',
  'qemu-guest-agent',
  'systemd-boot-efi',
] as const;

/** Generic, not "cloud": the cloud kernel lacks 9p, which the host share (mount-host-fs) needs. */
export function kernelPackage(arch: Arch): string {
  return arch === 'amd64' ? 'linux-image-amd64' : 'linux-image-arm64';
}

/** The Debian mirror the host's apt already uses (no registry host is named in this code). */
export function hostMirror(): string {
  try {
    const deb822 = readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8');
    const m = /^URIs:\s*(\S+)/m.exec(deb822);
    if (m) return m[1]!;
  } catch {}
  const list = readFileSync('/etc/apt/sources.list', 'utf8');
  const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+\s+main/m.exec(list);
  if (!m) throw new Error('cannot find a Debian mirror in the apt sources; set EMULATOR_DEBIAN_MIRROR');
  return m[1]!;
}

/**
 * Runs `work` with /proc mounted in the chroot, then unmounts every mount left in the tree: what
 * the step's package scripts mounted too, and a proc that debootstrap left under ours (`umount -l`
 * takes only the top of a stack). A tree with mounts left is never removed or renamed (the host's
 * /proc reachable under the user's cache), so the step fails instead.
 */
async function inChroot<T>(rootfs: string, log: string, seams: BuildSeams, work: () => Promise<T>): Promise<T> {
  // Package scripts need /proc; services must not start inside the build chroot.
  await seams.run('mount', ['-t', 'proc', 'proc', join(rootfs, 'proc')], { log });
  writeFileSync(join(rootfs, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n');
  chmodSync(join(rootfs, 'usr/sbin/policy-rc.d'), 0o755);
  let result: T;
  try {
    result = await work();
  } catch (e) {
    rmSync(join(rootfs, 'usr/sbin/policy-rc.d'), { force: true });
    await unmountAllUnder(rootfs, seams, log).catch((left: Error) => {
      // Both matter: why the step failed, and that the tree still has mounts.
      throw Object.assign(left, { message: `${left.message}\nThe step had failed first: ${(e as Error).message}` });
    });
    throw e;
  }
  rmSync(join(rootfs, 'usr/sbin/policy-rc.d'), { force: true });
  await unmountAllUnder(rootfs, seams, log);
  return result;
}

export async function aptInChroot(
  rootfs: string,
  log: string,
  args: string[],
  seams: BuildSeams = realBuildSeams,
): Promise<string> {
  return inChroot(rootfs, log, seams, () =>
    seams.run('chroot', [rootfs, 'apt-get', '-q', '-y', '-o', 'APT::Install-Recommends=false', ...args], {
      log,
      env: { DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
    }),
  );
}

/** debootstrap (minbase) + the base packages, configured to boot fast and quietly. */
export async function buildRootfs(
  rootfs: string,
  options: { arch: Arch; suite: string; mirror: string; log: string },
  seams: BuildSeams = realBuildSeams,
): Promise<void> {
  // debootstrap --include fails on virtual packages (prototype notes): install extras in the chroot.
  await seams.run(
    'debootstrap',
    [`--arch=${options.arch}`, '--variant=minbase', options.suite, rootfs, options.mirror],
    {
      log: options.log,
    },
  );
  // Its second stage mounts in the chroot too, and a proc left there would sit under every one of ours.
  await unmountAllUnder(rootfs, seams, options.log);
  // Before the kernel: its postinst builds the initramfs, which carries these (see rootfs-config.ts).
  for (const f of earlyRootfsFiles()) writeRootfsFile(rootfs, f);
  // e2fsck first: the initramfs hook copies it, and the kernel's postinst builds an initramfs before
  // apt has set up every package of its own transaction.
  await aptInChroot(rootfs, options.log, ['install', 'e2fsprogs'], seams);
  await aptInChroot(rootfs, options.log, ['install', kernelPackage(options.arch), ...BASE_PACKAGES], seams);
  await aptInChroot(rootfs, options.log, ['clean'], seams);
  applyRootfsConfig(rootfs, rootfsConfig());
}
