#!/bin/bash
# BIOS boot, as the original pipeline's images have it (the original always booted them with
# SeaBIOS): GRUB's boot code in the MBR, its core in a BIOS boot partition made in the 1 MiB gap
# before the ESP, and a grub.cfg on the ESP that boots the kernel and initrd of its loader entry.
# The disk keeps its ESP and systemd-boot entry, so UEFI and the boot files still work.
set -euo pipefail
root=$(findmnt -no SOURCE /)
dev=/dev/$(lsblk -no PKNAME "$root")
# The GPT's first usable sector was 2048 (sfdisk's default): lowered to 34 to take the gap; every
# existing partition keeps its place and its UUID (the kernel finds the root by PARTUUID).
{ sfdisk -d "$dev" | sed -e 's/^first-lba: 2048$/first-lba: 34/' -e '/^device:/d'
  echo 'start=34, size=2014, type=21686148-6449-6E6F-744E-656564454649, name=bios'; } > /tmp/gpt.txt
sfdisk --no-reread --no-tell-kernel --force -q "$dev" < /tmp/gpt.txt
esp=$(findmnt -no TARGET "${dev}1" || true)
if [[ -z "$esp" ]]; then esp=/mnt/esp; mkdir -p "$esp"; mount "${dev}1" "$esp"; fi
entry=$(ls "$esp"/loader/entries/*.conf | head -1)
linux=$(awk '$1 == "linux" { print $2; exit }' "$entry")
initrd=$(awk '$1 == "initrd" { print $2; exit }' "$entry")
options=$(awk '$1 == "options" { $1 = ""; sub(/^ +/, ""); o = o (o ? " " : "") $0 } END { print o }' "$entry")
grub-install --target=i386-pc --boot-directory="$esp" --modules="part_gpt fat" "$dev"
cat > "$esp/grub/grub.cfg" <<CFG
set timeout=0
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
menuentry "stack emulator" {
  linux $linux $options
  initrd $initrd
}
CFG
sync
[[ "$esp" == /mnt/esp ]] && umount "$esp"
exit 0
