/**
 * The base image's initramfs: initramfs-tools gathers the modules and the tools, and our own /init
 * replaces its scripts. The stock init starts udev, triggers every device, waits for it to settle and
 * resolves the root through udev's links: 4-5 s of a TCG boot. This one loads the listed modules,
 * finds the root with blkid and hands over to systemd in about 1.5 s. No udev in the initramfs at all.
 */

/**
 * Modules loaded in the initramfs. The disk and ext4 to mount the root; virtio_net so eth0 exists when
 * systemd starts (left to udev, the NIC once appeared 24 s into a TCG boot); virtio_console so the
 * guest agent's port exists at once (the agent starts early, see debian-rootfs.ts; built into Debian's
 * amd64 kernel, listed for kernels that have it as a module); button and evdev
 * for the ACPI power button `stack-emulator stop` presses, since udev no longer coldplugs ACPI devices.
 */
const INITRAMFS_MODULES = [
  'virtio_pci',
  'virtio_blk',
  'ext4',
  'virtio_net',
  'virtio_console',
  'button',
  'evdev',
] as const;

/** /init, for klibc's sh and tools (no sed, no cut: builtins only) plus kmod's modprobe and blkid. */
const INIT_SCRIPT = `#!/bin/sh
# The stack emulator's initramfs init (see emulator-image/src/initramfs.ts).
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mkdir -p /dev /proc /sys /root /run /tmp
mount -t proc -o nodev,noexec,nosuid proc /proc
mount -t sysfs -o nodev,noexec,nosuid sysfs /sys
mount -t devtmpfs -o nosuid,mode=0755 udev /dev
# A guest that cannot boot says why on the console and powers off: QEMU exits, and the host reports
# the console's last lines instead of waiting for an agent that never comes.
fail() {
  echo "stack-initramfs: $*; powering off" > /dev/kmsg
  sleep 2
  poweroff -f
}
root=
init=/sbin/init
mode=ro
fstype=ext4
for x in $(cat /proc/cmdline); do
  case $x in
    root=*) root=\${x#root=} ;;
    rootfstype=*) fstype=\${x#rootfstype=} ;;
    init=*) init=\${x#init=} ;;
    rw) mode=rw ;;
    ro) mode=ro ;;
  esac
done
[ -n "$root" ] || fail "no root= on the kernel command line"
modules=
while read -r m _; do
  case $m in ''|'#'*) ;; *) modules="$modules $m" ;; esac
done < /conf/modules
[ -z "$modules" ] || modprobe -qab $modules
now() { read -r up _ < /proc/uptime; echo "\${up%%.*}"; }
# The disk driver probes asynchronously: wait for the root (LABEL=, UUID=, PARTUUID= or a path), by
# the clock, since a loaded host makes every step of an emulated boot slower.
end=$(( $(now) + 120 ))
dev=
while :; do
  case $root in
    /dev/*) [ -b "$root" ] && dev=$root ;;
    *) dev=$(blkid -l -o device -t "$root" 2>/dev/null) ;;
  esac
  [ -n "$dev" ] && break
  [ "$(now)" -lt "$end" ] || fail "root $root not found after 120 s"
  sleep 0.05
done
mount -t "$fstype" -o "$mode" "$dev" /root || fail "cannot mount $dev ($fstype) on /root"
for m in dev proc sys; do mount -n -o move "/$m" "/root/$m"; done
exec run-init /root "$init" "$@" < /root/dev/console > /root/dev/console 2>&1
`;

/**
 * An initramfs-tools hook, run after udev's (its prereq): puts our init in place, adds blkid, and
 * removes udev and the hardware database (13.5 MB the kernel would unpack at every boot for nothing).
 */
const INIT_HOOK = `#!/bin/sh
case "$1" in prereqs) echo udev; exit 0;; esac
. /usr/share/initramfs-tools/hook-functions
cp /etc/initramfs-tools/stack-init "$DESTDIR/init"
chmod 0755 "$DESTDIR/init"
copy_exec /usr/sbin/blkid /usr/sbin
rm -rf "$DESTDIR/usr/bin/udevadm" "$DESTDIR/usr/lib/systemd" "$DESTDIR/usr/lib/udev" "$DESTDIR/lib/udev" \\
  "$DESTDIR"/usr/lib/*-linux-gnu/systemd "$DESTDIR/scripts/init-top/udev" "$DESTDIR/scripts/init-bottom/udev"
`;

/** Files under the rootfs that configure the initramfs; written before the kernel is installed. */
export function initramfsFiles(): { path: string; text: string; mode?: number }[] {
  return [
    // Only the listed modules: with MODULES=most the initrd was 36 MB, and unpacking it cost seconds.
    { path: 'etc/initramfs-tools/conf.d/90-stack-emulator.conf', text: 'MODULES=list\n' },
    { path: 'etc/initramfs-tools/modules', text: INITRAMFS_MODULES.map((m) => `${m}\n`).join('') },
    // No hibernation image to look for.
    { path: 'etc/initramfs-tools/conf.d/91-stack-emulator-resume.conf', text: 'RESUME=none\n' },
    { path: 'etc/initramfs-tools/stack-init', text: INIT_SCRIPT, mode: 0o755 },
    { path: 'etc/initramfs-tools/hooks/zz-stack-init', text: INIT_HOOK, mode: 0o755 },
  ];
}
