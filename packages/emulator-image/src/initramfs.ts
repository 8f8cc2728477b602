/**
 * The base image's initramfs: initramfs-tools gathers the modules and the tools, and our own /init
 * replaces its scripts. The stock init starts udev, triggers every device, waits for it to settle and
 * resolves the root through udev's links: 4-5 s of a TCG boot. This one loads the listed modules,
 * finds the root with blkid, checks it with e2fsck and hands over to systemd in about 1.5 s. No udev
 * in the initramfs at all.
 */
import { BOOT_FAILED_PREFIX, BOOT_MARKERS } from '@stack/qemu-argv';

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

/**
 * Shell functions of /init, for klibc's sh (no sed, no cut: builtins only). They use `$con` (the
 * console) and `$fsck_log`, set by /init (and by the unit tests, which run them with the host's sh
 * and stand-ins for the tools).
 */
export const INIT_FUNCTIONS = `# A line on the console. /dev/console is the last console= of the kernel command line (ttyS0 on
# amd64, ttyAMA0 on arm64), whatever the arch. Not /dev/kmsg: with loglevel=3 the kernel prints only
# messages below level 3 on the console, and a line written to /dev/kmsg gets the default level 4.
# (>> is > on a terminal; the tests' console is a file.)
say() { echo "$*" >> "$con"; }
# A guest that cannot boot says why on the console and powers off: QEMU exits, and the host reports
# the console's last lines instead of waiting for an agent that never comes. (initramfs-tools' panic()
# echoes to its stdout and then waits in a shell, or reboots with panic=; its scripts never run here.)
fail() {
  say "${BOOT_FAILED_PREFIX} stack-initramfs: $*; powering off"
  sleep 2
  poweroff -f
}
parse_cmdline() {
  for x in $1; do
    case $x in
      root=*) root=\${x#root=} ;;
      rootfstype=*) fstype=\${x#rootfstype=} ;;
      init=*) init=\${x#init=} ;;
      rw) mode=rw ;;
      ro) mode=ro ;;
      fsck.mode=*) fsck_mode=\${x#fsck.mode=} ;;
      fsck.repair=*) fsck_repair=\${x#fsck.repair=} ;;
    esac
  done
}
now() { read -r up _ < /proc/uptime; echo "\${up%%.*}"; }
# The disk driver probes asynchronously: wait for the root (LABEL=, UUID=, PARTUUID= or a path), by
# the clock, since a loaded host makes every step of an emulated boot slower. Sets dev.
find_root() {
  end=$(( $(now) + $2 ))
  dev=
  while :; do
    case $1 in
      /dev/*) [ -b "$1" ] && dev=$1 ;;
      *) dev=$(blkid -l -o device -t "$1" 2>/dev/null) ;;
    esac
    [ -n "$dev" ] && return 0
    [ "$(now)" -lt "$end" ] || fail "root $1 not found after $2 s"
    sleep 0.05
  done
}
# The root is checked before it is mounted, as systemd-fsck(8) and initramfs-tools would: a killed
# QEMU leaves it as a power cut does. fsck.mode= skip|force|auto, fsck.repair= yes|no|preen, as in
# systemd-fsck(8); -y, -n or -p, so e2fsck never asks. A clean ext4 is skipped in milliseconds (only
# its superblock is read); a journal left by a crash is replayed; a file system marked with errors
# (errors=remount-ro) is checked in full. Its output reaches the console only when it did something.
check_root() {
  [ "$fsck_mode" = skip ] && return 0
  case $2 in ext2|ext3|ext4) ;; *) return 0 ;; esac
  case $fsck_repair in yes) opt=-y ;; no) opt=-n ;; *) opt=-p ;; esac
  [ "$fsck_mode" = force ] && opt="$opt -f"
  e2fsck $opt "$1" < /dev/null > "$fsck_log" 2>&1
  rc=$?
  [ "$rc" -eq 0 ] && return 0
  cat "$fsck_log" >> "$con"
  # e2fsck(8): 1 and 2 are errors corrected (2 asks for a reboot when the file system was mounted; it was not).
  [ "$rc" -lt 4 ] || fail "e2fsck $opt $1 exited $rc: the root file system needs a manual repair"
  say "stack-initramfs: e2fsck $opt $1 repaired the root file system (exit $rc)"
}
mount_root() {
  err=$(mount -t "$2" -o "$3" "$1" /root 2>&1) || fail "cannot mount $1 ($2) on /root: $err"
}
`;

/** /init: klibc's sh and tools, kmod's modprobe, blkid and e2fsck. */
const INIT_SCRIPT = `#!/bin/sh
# The stack emulator's initramfs init (see emulator-image/src/initramfs.ts).
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mkdir -p /dev /proc /sys /root /run /tmp
mount -t proc -o nodev,noexec,nosuid proc /proc
mount -t sysfs -o nodev,noexec,nosuid sysfs /sys
mount -t devtmpfs -o nosuid,mode=0755 udev /dev
con=/dev/console
fsck_log=/run/stack-fsck.log
${INIT_FUNCTIONS}# The guest contract's first boot marker (@stack/qemu-argv boot-stage.ts): the host knows the guest
# runs, however long the rest of the boot takes.
say "${BOOT_MARKERS.initramfs}"
root=
init=/sbin/init
mode=ro
fstype=ext4
fsck_mode=auto
fsck_repair=yes
parse_cmdline "$(cat /proc/cmdline)"
[ -n "$root" ] || fail "no root= on the kernel command line"
modules=
while read -r m _; do
  case $m in ''|'#'*) ;; *) modules="$modules $m" ;; esac
done < /conf/modules
[ -z "$modules" ] || modprobe -qab $modules
find_root "$root" 120
check_root "$dev" "$fstype"
mount_root "$dev" "$fstype" "$mode"
for m in dev proc sys; do mount -n -o move "/$m" "/root/$m"; done
exec run-init /root "$init" "$@" < /root/dev/console > /root/dev/console 2>&1
`;

/**
 * An initramfs-tools hook, run after udev's (its prereq): puts our init in place, adds blkid and
 * e2fsck (a build without it fails here rather than boot unchecked), and removes udev and the hardware database (13.5 MB the kernel would unpack at every boot for nothing).
 */
const INIT_HOOK = `#!/bin/sh
case "$1" in prereqs) echo udev; exit 0;; esac
. /usr/share/initramfs-tools/hook-functions
cp /etc/initramfs-tools/stack-init "$DESTDIR/init"
chmod 0755 "$DESTDIR/init"
copy_exec /usr/sbin/blkid /usr/sbin
copy_exec /usr/sbin/e2fsck /usr/sbin || { echo "E: stack-init: no /usr/sbin/e2fsck (e2fsprogs) for the root's check" >&2; exit 1; }
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
