import { ROOT_PARTUUID } from './rootfs-config.js';
import type { Arch } from '@stack/internal';

/** The serial console of each arch's QEMU machine: the 16550 of q35, the PL011 of virt. */
function serialConsole(arch: Arch): string {
  return arch === 'amd64' ? 'ttyS0' : 'ttyAMA0';
}

/**
 * The kernel command line of the base image's loader entry (and so of its boot files):
 * - `root=PARTUUID=… ro`: our /init finds the root by its partition UUID and mounts it read-only;
 *   systemd remounts it read-write after the check below.
 * - `fsck.mode=auto fsck.repair=yes`: /init checks the root with e2fsck before mounting it (see
 *   initramfs.ts), answering yes, never asking: every session disk is booted as after a power cut
 *   (QEMU killed), and a clean ext4 is skipped in milliseconds. The names are systemd-fsck(8)'s.
 * - `quiet loglevel=3 systemd.show_status=false`: a healthy boot prints only the guest contract's
 *   boot markers on the console.
 * - `net.ifnames=0`: the NIC stays eth0 (stack-net configures it before udev could rename it).
 * - `mitigations=off`: the guest runs only the appliance's own code, and under TCG the retpolines and
 *   barriers are paid in emulated instructions on every indirect call and user copy.
 * - `cryptomgr.notests`: the kernel's self-tests of its crypto algorithms ran for 0.6-1.5 s of a TCG
 *   boot (initcall_debug: crypto_kdf108_init, init_encrypted, crypto_algapi_init).
 * - `no_timer_check` (x86 only, arch/x86/kernel/apic/io_apic.c): the boot's check that the timer
 *   interrupt arrives panics ("IO-APIC + timer doesn't work!") when a TCG vCPU is starved on a loaded
 *   host, as a CI run's test guest did; a VM's timer is QEMU's and works.
 */
export function kernelCommandLine(arch: Arch): string {
  return [
    `root=PARTUUID=${ROOT_PARTUUID}`,
    'ro',
    'fsck.mode=auto',
    'fsck.repair=yes',
    `console=${serialConsole(arch)},115200`,
    'quiet',
    'loglevel=3',
    'systemd.show_status=false',
    'net.ifnames=0',
    'mitigations=off',
    'cryptomgr.notests',
    ...(arch === 'amd64' ? ['no_timer_check'] : []),
  ].join(' ');
}
