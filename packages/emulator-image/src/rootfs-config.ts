import { guestUnits } from './guest-units.js';
import { initramfsFiles } from './initramfs.js';
import { enableUnit, maskPath, type RootfsFile, writeRootfsFile } from './rootfs-file.js';

export const ROOT_PARTUUID = '6e1e9c52-6c2b-4d4b-9a9e-3b1d0c0a5e01';

/**
 * Drivers udev would load for q35's legacy devices: each costs emulated seconds during the boot
 * (psmouse probing the PS/2 port, kvm_amd for nested virtualization), and nothing here uses them.
 */
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

/**
 * Pass 0: the initramfs checks the root before it mounts it (initramfs.ts, fsck.* on the kernel
 * command line); systemd-fsck-root would check it again, mounted, and reboot the guest after a repair.
 */
const FSTAB = `PARTUUID=${ROOT_PARTUUID} / ext4 defaults,noatime,errors=remount-ro 0 0\n`;

/** Files written before the kernel is installed: its postinst builds the initramfs, which carries them. */
export function earlyRootfsFiles(): RootfsFile[] {
  return [
    ...initramfsFiles(),
    { path: 'etc/fstab', text: FSTAB },
    {
      path: 'etc/modprobe.d/90-stack-emulator.conf',
      text: UNUSED_DRIVERS.map((m) => `blacklist ${m}\n`).join(''),
    },
  ];
}

/**
 * Early units an appliance never uses; under TCG each costs about a second of a two-core host
 * during the boot (systemd-analyze blame of the reference image).
 */
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

/** Units replaced (stack-net for networkd), and timers and jobs an appliance never wants. */
const REPLACED_UNITS = [
  'systemd-networkd.service',
  'systemd-networkd-wait-online.service',
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'e2scrub_all.timer',
  // e2fsprogs' LVM snapshot cleanup at every boot: there is no LVM here.
  'e2scrub_reap.service',
  'fstrim.timer',
  'dpkg-db-backup.timer',
  // No login prompts: the console is a file on the host, and there is no display.
  'getty@.service',
  'serial-getty@.service',
];

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

/** What the base image's build sets up once its packages are installed. */
export interface RootfsConfig {
  files: RootfsFile[];
  enable: { unit: string; target: string }[];
  /** Paths (relative to the root) made /dev/null links: masked units and generators. */
  masks: string[];
}

/** The base image's configuration: boot fast and quietly, and say on the console how far the boot got. */
export function rootfsConfig(): RootfsConfig {
  const units = guestUnits();
  return {
    files: [
      { path: 'etc/hostname', text: 'stack-emulator\n' },
      {
        path: 'etc/hosts',
        text: '127.0.0.1 localhost\n127.0.1.1 stack-emulator\n::1 localhost ip6-localhost ip6-loopback\n',
      },
      ...units.files,
      // udev coldplugs only what the appliance uses: disks (the config disk's label), the NIC and the
      // agent's port. A full coldplug (PCI, ACPI, CPUs, 64 virtual terminals, memory blocks...) kept udev
      // busy for 7-10 s of CPU under TCG, loading drivers for hardware nobody uses (AHCI, AES-NI, ...),
      // and slowed every other unit of the boot. Hot-plugged devices (the host share) are still handled.
      {
        path: 'etc/systemd/system/systemd-udev-trigger.service.d/90-stack-emulator.conf',
        text: [
          '[Service]',
          'ExecStart=',
          'ExecStart=-udevadm trigger --type=devices --action=add --subsystem-match=block --subsystem-match=net --subsystem-match=virtio-ports',
          '',
        ].join('\n'),
      },
      // Logs in memory only: no flush to /var/log at boot.
      { path: 'etc/systemd/journald.conf.d/90-stack-emulator.conf', text: '[Journal]\nStorage=volatile\n' },
      // NoCloud only, and no network stage: the datasource search on every boot cost 10-15 s in the
      // prototype. Provisioning disables cloud-init entirely once it is done.
      {
        path: 'etc/cloud/cloud.cfg.d/90-stack-emulator.cfg',
        text: 'datasource_list: [NoCloud, None]\nnetwork:\n  config: disabled\n',
      },
      { path: 'etc/default/locale', text: 'LANG=C.UTF-8\n' },
    ],
    enable: units.enable,
    masks: [
      ...[...REPLACED_UNITS, ...SKIPPED_EARLY_UNITS].map((u) => `etc/systemd/system/${u}`),
      ...SKIPPED_GENERATORS.map((g) => `etc/systemd/system-generators/${g}`),
    ],
  };
}

export function applyRootfsConfig(rootfs: string, config: RootfsConfig): void {
  for (const f of config.files) writeRootfsFile(rootfs, f);
  for (const { unit, target } of config.enable) enableUnit(rootfs, unit, target);
  for (const m of config.masks) maskPath(rootfs, m);
}
