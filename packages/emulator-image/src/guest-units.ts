import { BOOT_MARKERS } from '@stack/qemu-argv';
import type { RootfsFile } from './rootfs-file.js';

/** The base image's own services: the network address, the guest agent and the boot marker. */
export interface GuestUnits {
  files: RootfsFile[];
  /** Units of /etc/systemd/system to enable, with the target that wants them. */
  enable: { unit: string; target: string }[];
}

/**
 * QEMU user-mode networking always gives the guest 10.0.2.15/24, gateway .2, DNS .3. A oneshot
 * sets that in a few ms; systemd-networkd took 7.6 s to start under TCG and, through
 * network.target, held PostgreSQL back. Nothing is ordered after it: services bind 0.0.0.0.
 * The NIC is eth0 (net.ifnames=0 on the kernel command line, see kernel-cmdline.ts). The wait is by
 * the clock and long: it was 100 tries of 0.1 s, and a guest on a loaded host (three TCG guests on
 * two cores) found no NIC in time, gave up, and stayed unreachable for good.
 */
const STACK_NET = [
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
].join('\n');

/**
 * The guest agent starts as soon as systemd does, on the port the kernel already made (its driver
 * is in the initramfs), not when udev gets to the port's /dev/virtio-ports link: that came 10-20 s
 * into a TCG boot, and the host waits for the agent before anything else on a cold start.
 */
const STACK_QEMU_GA = [
  '#!/bin/sh',
  'while :; do',
  '  for d in /sys/class/virtio-ports/*; do',
  '    read -r name < "$d/name" 2>/dev/null || continue',
  '    [ "$name" = org.qemu.guest_agent.0 ] || continue',
  // The guest contract's last boot marker (@stack/qemu-argv boot-stage.ts): the agent is starting.
  `    echo "${BOOT_MARKERS.agent}" > /dev/console`,
  '    exec /usr/sbin/qemu-ga --method=virtio-serial --path="/dev/${d##*/}"',
  '  done',
  '  sleep 0.1',
  'done',
  '',
].join('\n');

const QEMU_GUEST_AGENT_UNIT = [
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
].join('\n');

/**
 * The guest contract's boot marker for systemd's start (@stack/qemu-argv boot-stage.ts). No default
 * dependencies and no ordering: it runs in systemd's first batch of jobs, before local-fs and
 * sysinit, and holds nothing back.
 */
const BOOT_STAGE_UNIT = [
  '[Unit]',
  'Description=Boot marker for the emulator host: systemd started',
  'DefaultDependencies=no',
  '',
  '[Service]',
  'Type=oneshot',
  `ExecStart=/bin/sh -c 'echo ${BOOT_MARKERS.userspace} > /dev/console'`,
  '',
  '[Install]',
  'WantedBy=sysinit.target',
  '',
].join('\n');

export function guestUnits(): GuestUnits {
  return {
    files: [
      { path: 'usr/local/sbin/stack-net', text: STACK_NET, mode: 0o755 },
      // Static: the unit runs before the root is remounted read-write, and the DNS address never changes.
      { path: 'etc/resolv.conf', text: 'nameserver 10.0.2.3\n' },
      {
        path: 'etc/systemd/system/stack-net.service',
        text: '[Unit]\nDescription=Address for QEMU user-mode networking\nDefaultDependencies=no\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/local/sbin/stack-net\n\n[Install]\nWantedBy=multi-user.target\n',
      },
      { path: 'usr/local/sbin/stack-qemu-ga', text: STACK_QEMU_GA, mode: 0o755 },
      { path: 'etc/systemd/system/qemu-guest-agent.service', text: QEMU_GUEST_AGENT_UNIT },
      { path: 'etc/systemd/system/stack-boot-stage.service', text: BOOT_STAGE_UNIT },
    ],
    enable: [
      { unit: 'stack-net.service', target: 'multi-user.target' },
      { unit: 'qemu-guest-agent.service', target: 'sysinit.target' },
      { unit: 'stack-boot-stage.service', target: 'sysinit.target' },
    ],
  };
}
