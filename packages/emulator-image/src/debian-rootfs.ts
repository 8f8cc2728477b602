import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initramfsFiles } from './initramfs.js';
import { run } from './run.js';
import type { Arch } from '@stack/internal';

/** Debian 13 packages of the base image: what the official cloud image gives an appliance. */
export const BASE_PACKAGES = [
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
    run('chroot', [rootfs, 'apt-get', '-q', '-y', '-o', 'APT::Install-Recommends=false', ...args], {
      log,
      env: { DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
    }),
  );
}

/** debootstrap (minbase) + the base packages, configured to boot fast and quietly. */
export async function buildRootfs(
  rootfs: string,
  options: { arch: Arch; suite: string; mirror: string; log: string },
): Promise<void> {
  // debootstrap --include fails on virtual packages (prototype notes): install extras in the chroot.
  await run('debootstrap', [`--arch=${options.arch}`, '--variant=minbase', options.suite, rootfs, options.mirror], {
    log: options.log,
  });
  for (const f of initramfsFiles()) write(rootfs, f.path, f.text, f.mode);
  // Pass 0: no fsck tool in the initrd and no fsck unit. Every start boots a fresh overlay of an
  // image shut down cleanly, and ext4's journal covers the rest.
  write(rootfs, 'etc/fstab', FSTAB);
  // Drivers udev would load for q35's legacy devices: each costs emulated seconds during the boot
  // (psmouse probing the PS/2 port, kvm_amd for nested virtualization), and nothing here uses them.
  // Written before the kernel is installed: the initrd carries /etc/modprobe.d too.
  write(rootfs, 'etc/modprobe.d/90-stack-emulator.conf', UNUSED_DRIVERS.map((m) => `blacklist ${m}\n`).join(''));
  await aptInChroot(rootfs, options.log, ['install', kernelPackage(options.arch), ...BASE_PACKAGES]);
  await aptInChroot(rootfs, options.log, ['clean']);
  configureRootfs(rootfs, options.arch);
}

function write(rootfs: string, path: string, text: string, mode = 0o644): void {
  mkdirSync(join(rootfs, path, '..'), { recursive: true });
  writeFileSync(join(rootfs, path), text, { mode });
}

/** `systemctl enable` of a unit in /etc/systemd/system, by hand: no systemd runs in the build chroot. */
function enable(rootfs: string, unit: string, target: string): void {
  const wants = join(rootfs, 'etc/systemd/system', `${target}.wants`);
  mkdirSync(wants, { recursive: true });
  rmSync(join(wants, unit), { force: true });
  symlinkSync(`/etc/systemd/system/${unit}`, join(wants, unit));
}

function mask(rootfs: string, unit: string): void {
  rmSync(join(rootfs, 'etc/systemd/system', unit), { force: true });
  symlinkSync('/dev/null', join(rootfs, 'etc/systemd/system', unit));
}

const SKIPPED_EARLY_UNITS = [
  'getty-static.service',
  'kmod-static-nodes.service',
  'systemd-binfmt.service',
  'proc-sys-fs-binfmt_misc.automount',
  'systemd-pstore.service',
  'dev-hugepages.mount',
  'dev-mqueue.mount',
  'sys-kernel-debug.mount',
  'sys-kernel-tracing.mount',
  'sys-kernel-config.mount',
  'sys-fs-fuse-connections.mount',
  'modprobe@drm.service',
  'modprobe@efi_pstore.service',
  'modprobe@fuse.service',
  'modprobe@configfs.service',
];

export const ROOT_PARTUUID = '6e1e9c52-6c2b-4d4b-9a9e-3b1d0c0a5e01';
const UNUSED_DRIVERS = [
  'kvm',
  'kvm_amd',
  'kvm_intel',
  'psmouse',
  'serio_raw',
  'pcspkr',
  'i2c_i801',
  'lpc_ich',
  'iTCO_wdt',
  'iTCO_vendor_support',
  'efi_pstore',
];
const FSTAB = `PARTUUID=${ROOT_PARTUUID} / ext4 defaults,noatime,errors=remount-ro 0 0\n`;

/**
 * Generators an appliance does not need (systemd.generator(7): a /dev/null link in
 * /etc/systemd/system-generators masks one). They all run before systemd queues the first job,
 * which took 4 s of a TCG boot; kept: fstab and cloud-init. The getty generator goes too: the serial
 * console is a log file on the host, nobody logs in on it.
 */
const SKIPPED_GENERATORS = [
  'systemd-getty-generator',
  'systemd-gpt-auto-generator',
  'systemd-hibernate-resume-generator',
  'systemd-rc-local-generator',
  'systemd-run-generator',
  'systemd-ssh-generator',
  'systemd-system-update-generator',
  'systemd-sysv-generator',
  'systemd-tpm2-generator',
  'systemd-debug-generator',
];

function configureRootfs(rootfs: string, arch: Arch): void {
  write(rootfs, 'etc/hostname', 'stack-emulator\n');
  write(
    rootfs,
    'etc/hosts',
    '127.0.0.1 localhost\n127.0.1.1 stack-emulator\n::1 localhost ip6-localhost ip6-loopback\n',
  );
  // QEMU user-mode networking always gives the guest 10.0.2.15/24, gateway .2, DNS .3. A oneshot
  // sets that in a few ms; systemd-networkd took 7.6 s to start under TCG and, through
  // network.target, held PostgreSQL back. Nothing is ordered after it: services bind 0.0.0.0.
  // The NIC is eth0 (net.ifnames=0 on the kernel command line, see disk-image.ts). The wait is by
  // the clock and long: it was 100 tries of 0.1 s, and a guest on a loaded host (three TCG guests on
  // two cores) found no NIC in time, gave up, and stayed unreachable for good.
  write(
    rootfs,
    'usr/local/sbin/stack-net',
    [
      '#!/bin/sh',
      'ip link set lo up',
      'end=$(( $(cut -d. -f1 /proc/uptime) + 600 ))',
      'until [ -e /sys/class/net/eth0 ]; do',
      '  [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] || { echo "stack-net: no eth0 after 600 s" >&2; exit 1; }',
      '  sleep 0.1',
      'done',
      'ip link set eth0 up',
      'ip addr replace 10.0.2.15/24 dev eth0',
      'ip route replace default via 10.0.2.2',
      '',
    ].join('\n'),
    0o755,
  );
  // Static: the unit runs before the root is remounted read-write, and the DNS address never changes.
  write(rootfs, 'etc/resolv.conf', 'nameserver 10.0.2.3\n');
  write(
    rootfs,
    'etc/systemd/system/stack-net.service',
    '[Unit]\nDescription=Address for QEMU user-mode networking\nDefaultDependencies=no\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/local/sbin/stack-net\n\n[Install]\nWantedBy=multi-user.target\n',
  );
  enable(rootfs, 'stack-net.service', 'multi-user.target');
  mask(rootfs, 'systemd-networkd.service');
  mask(rootfs, 'systemd-networkd-wait-online.service');
  for (const t of [
    'apt-daily.timer',
    'apt-daily-upgrade.timer',
    'e2scrub_all.timer',
    'fstrim.timer',
    'dpkg-db-backup.timer',
  ])
    mask(rootfs, t);
  // Early units an appliance never uses; under TCG each costs about a second of a two-core host
  // during the boot (systemd-analyze blame of the reference image).
  for (const u of SKIPPED_EARLY_UNITS) mask(rootfs, u);
  mkdirSync(join(rootfs, 'etc/systemd/system-generators'), { recursive: true });
  for (const g of SKIPPED_GENERATORS) {
    rmSync(join(rootfs, 'etc/systemd/system-generators', g), { force: true });
    symlinkSync('/dev/null', join(rootfs, 'etc/systemd/system-generators', g));
  }
  // No login prompts: the console is a file on the host, and there is no display.
  for (const u of ['getty@.service', 'serial-getty@.service']) mask(rootfs, u);
  // udev coldplugs only what the appliance uses: disks (the config disk's label), the NIC and the
  // agent's port. A full coldplug (PCI, ACPI, CPUs, 64 virtual terminals, memory blocks...) kept udev
  // busy for 7-10 s of CPU under TCG, loading drivers for hardware nobody uses (AHCI, AES-NI, ...),
  // and slowed every other unit of the boot. Hot-plugged devices (the host share) are still handled.
  write(
    rootfs,
    'etc/systemd/system/systemd-udev-trigger.service.d/90-stack-emulator.conf',
    [
      '[Service]',
      'ExecStart=',
      'ExecStart=-udevadm trigger --type=devices --action=add --subsystem-match=block --subsystem-match=net --subsystem-match=virtio-ports',
      '',
    ].join('\n'),
  );
  // The guest agent starts as soon as systemd does, on the port the kernel already made (its driver
  // is in the initramfs), not when udev gets to the port's /dev/virtio-ports link: that came 10-20 s
  // into a TCG boot, and the host waits for the agent before anything else on a cold start.
  write(
    rootfs,
    'usr/local/sbin/stack-qemu-ga',
    [
      '#!/bin/sh',
      'while :; do',
      '  for d in /sys/class/virtio-ports/*; do',
      '    read -r name < "$d/name" 2>/dev/null || continue',
      '    [ "$name" = org.qemu.guest_agent.0 ] && exec /usr/sbin/qemu-ga --method=virtio-serial --path="/dev/${d##*/}"',
      '  done',
      '  sleep 0.1',
      'done',
      '',
    ].join('\n'),
    0o755,
  );
  write(
    rootfs,
    'etc/systemd/system/qemu-guest-agent.service',
    [
      '[Unit]',
      'Description=QEMU Guest Agent',
      'DefaultDependencies=no',
      // Guest commands may write (mkdir for the host share's mount point): not before the root is rw.
      'After=systemd-remount-fs.service',
      'Conflicts=shutdown.target',
      'Before=shutdown.target',
      'StartLimitIntervalSec=0',
      '',
      '[Service]',
      'ExecStart=/usr/local/sbin/stack-qemu-ga',
      'Restart=always',
      'RestartSec=0',
      '',
      '[Install]',
      'WantedBy=sysinit.target',
      '',
    ].join('\n'),
  );
  enable(rootfs, 'qemu-guest-agent.service', 'sysinit.target');
  // Logs in memory only: no flush to /var/log at boot, and every start is a fresh overlay anyway.
  write(rootfs, 'etc/systemd/journald.conf.d/90-stack-emulator.conf', '[Journal]\nStorage=volatile\n');
  // NoCloud only, and no network stage: the datasource search on every boot cost 10-15 s in the
  // prototype. Provisioning disables cloud-init entirely once it is done.
  write(
    rootfs,
    'etc/cloud/cloud.cfg.d/90-stack-emulator.cfg',
    'datasource_list: [NoCloud, None]\nnetwork:\n  config: disabled\n',
  );
  write(rootfs, 'etc/default/locale', 'LANG=C.UTF-8\n');
  void arch;
}
