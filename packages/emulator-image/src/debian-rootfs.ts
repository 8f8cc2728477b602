import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './run.js';

/** Debian 13 packages of the base image: what the official cloud image gives an appliance. */
export const BASE_PACKAGES = [
  'systemd-sysv', 'udev', 'kmod', 'iproute2', 'cloud-init', 'qemu-guest-agent', 'systemd-boot-efi',
] as const;

/** Generic, not "cloud": the cloud kernel lacks 9p, which the host share (mount-host-fs) needs. */
export function kernelPackage(arch: 'amd64' | 'arm64'): string {
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

async function inChroot<T>(rootfs: string, log: string, work: () => Promise<T>): Promise<T> {
  // Package scripts need /proc; services must not start inside the build chroot.
  await run('mount', ['-t', 'proc', 'proc', join(rootfs, 'proc')], { log });
  writeFileSync(join(rootfs, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n');
  chmodSync(join(rootfs, 'usr/sbin/policy-rc.d'), 0o755);
  try {
    return await work();
  } finally {
    rmSync(join(rootfs, 'usr/sbin/policy-rc.d'), { force: true });
    await run('umount', ['-l', join(rootfs, 'proc')], { log }).catch(() => {});
  }
}

export async function aptInChroot(rootfs: string, log: string, args: string[]): Promise<string> {
  return inChroot(rootfs, log, () =>
    run('chroot', [rootfs, 'apt-get', '-q', '-y', '-o', 'APT::Install-Recommends=false', ...args], { log, env: { DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' } }),
  );
}

/** debootstrap (minbase) + the base packages, configured to boot fast and quietly. */
export async function buildRootfs(rootfs: string, options: { arch: 'amd64' | 'arm64'; suite: string; mirror: string; log: string }): Promise<void> {
  // debootstrap --include fails on virtual packages (prototype notes): install extras in the chroot.
  await run('debootstrap', [`--arch=${options.arch}`, '--variant=minbase', options.suite, rootfs, options.mirror], { log: options.log });
  // A small initrd: with MODULES=most it is 36 MB, and unpacking it under TCG cost most of the
  // kernel's 15 s. The guest only needs its virtio disk and ext4 to find the root.
  write(rootfs, 'etc/initramfs-tools/conf.d/90-stack-emulator.conf', 'MODULES=list\n');
  write(rootfs, 'etc/initramfs-tools/modules', 'virtio_pci\nvirtio_blk\next4\n');
  await aptInChroot(rootfs, options.log, ['install', kernelPackage(options.arch), ...BASE_PACKAGES]);
  await aptInChroot(rootfs, options.log, ['clean']);
  configureRootfs(rootfs, options.arch);
}

function write(rootfs: string, path: string, text: string, mode = 0o644): void {
  mkdirSync(join(rootfs, path, '..'), { recursive: true });
  writeFileSync(join(rootfs, path), text, { mode });
}

function mask(rootfs: string, unit: string): void {
  rmSync(join(rootfs, 'etc/systemd/system', unit), { force: true });
  symlinkSync('/dev/null', join(rootfs, 'etc/systemd/system', unit));
}

export const ROOT_PARTUUID = '6e1e9c52-6c2b-4d4b-9a9e-3b1d0c0a5e01';

export function configureRootfs(rootfs: string, arch: 'amd64' | 'arm64'): void {
  write(rootfs, 'etc/hostname', 'stack-emulator\n');
  write(rootfs, 'etc/hosts', '127.0.0.1 localhost\n127.0.1.1 stack-emulator\n::1 localhost ip6-localhost ip6-loopback\n');
  write(rootfs, 'etc/fstab', `PARTUUID=${ROOT_PARTUUID} / ext4 defaults,noatime,errors=remount-ro 0 1\n`);
  // QEMU user-mode networking always gives the guest 10.0.2.15/24, gateway .2, DNS .3. A oneshot
  // sets that in a few ms; systemd-networkd took 7.6 s to start under TCG and, through
  // network.target, held PostgreSQL back. Nothing is ordered after it: services bind 0.0.0.0.
  write(rootfs, 'usr/local/sbin/stack-net', [
    '#!/bin/sh',
    'ip link set lo up',
    'for i in $(seq 100); do set -- /sys/class/net/en* /sys/class/net/eth*; [ -e "$1" ] && break; sleep 0.1; done',
    '[ -e "$1" ] || { echo "stack-net: no network interface" >&2; exit 1; }',
    'dev=$(basename "$1")',
    'ip link set "$dev" up',
    'ip addr replace 10.0.2.15/24 dev "$dev"',
    'ip route replace default via 10.0.2.2',
    "echo 'nameserver 10.0.2.3' > /etc/resolv.conf",
    '',
  ].join('\n'), 0o755);
  write(rootfs, 'etc/systemd/system/stack-net.service', '[Unit]\nDescription=Address for QEMU user-mode networking\nDefaultDependencies=no\nAfter=systemd-udevd.service\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/local/sbin/stack-net\n\n[Install]\nWantedBy=multi-user.target\n');
  mkdirSync(join(rootfs, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  rmSync(join(rootfs, 'etc/systemd/system/multi-user.target.wants/stack-net.service'), { force: true });
  symlinkSync('/etc/systemd/system/stack-net.service', join(rootfs, 'etc/systemd/system/multi-user.target.wants/stack-net.service'));
  mask(rootfs, 'systemd-networkd.service');
  mask(rootfs, 'systemd-networkd-wait-online.service');
  for (const t of ['apt-daily.timer', 'apt-daily-upgrade.timer', 'e2scrub_all.timer', 'fstrim.timer', 'dpkg-db-backup.timer']) mask(rootfs, t);
  // NoCloud only, and no network stage: the datasource search on every boot cost 10-15 s in the
  // prototype. Provisioning disables cloud-init entirely once it is done.
  write(rootfs, 'etc/cloud/cloud.cfg.d/90-stack-emulator.cfg', 'datasource_list: [NoCloud, None]\nnetwork:\n  config: disabled\n');
  write(rootfs, 'etc/default/locale', 'LANG=C.UTF-8\n');
  void arch;
}
