#!/bin/bash
# Runs after the reference appliance's provision.sh (whose bin/ is this bundle's, with the compat
# hooks on top): turns the reference services into what the original pipeline's image looks like to
# the host. See images/stack-compat/README.md.
set -euo pipefail
say() { echo "stack-provision (compat): $*" > /dev/console; }
trap 'say "failed at line $LINENO: $BASH_COMMAND"' ERR

say "BIOS boot"
bash /mnt/bundle/compat/bios-boot.sh > /var/log/stack-compat-bios-boot.log 2>&1 || { tail -20 /var/log/stack-compat-bios-boot.log > /dev/console; exit 1; }

say "compatibility hooks"
# Its hook rotates only from the placeholders: no marker.
rm -f /etc/stack-emulator/rotates-from-any-value
# Its services read the host ports once, at boot (the original's render them into its container): no
# retarget hook nor marker, so its snapshots keep the ports in their key.
rm -f /etc/stack-emulator/retargets-ports /usr/local/bin/retarget-host-ports
# Its clock is set as the original's was, by a process the agent starts: no clock daemon.
systemctl disable --now stack-guest-clock.service
rm -f /etc/systemd/system/stack-guest-clock.service /usr/local/bin/stack-guest-clock /run/stack-emulator/clock
# The client key "baked into the built JavaScript": the placeholder until the first rotation.
install -d -m 0755 /var/lib/stack-compat
printf '00000000000000000000000000000000ffffffffffffffffffffffffffffffff' > /var/lib/stack-compat/baked-pck
# The service runs run-stack-container first (as root): it refuses without the base environment,
# renders the secrets (placeholders at every boot) and publishes into STACK_EMULATOR_VM_DIR_HOST.
mkdir -p /etc/systemd/system/stack-reference.service.d
cat > /etc/systemd/system/stack-reference.service.d/compat.conf <<'UNIT'
[Service]
ExecStartPre=+/usr/local/bin/run-stack-container
UNIT
systemctl daemon-reload
# The provisioning run left the services up with the reference hooks' state: restart them the compat
# way once, so the image is checked as it will boot (the base environment is absent here: skip it).
STACK_COMPAT_PROVISIONING=1 /usr/local/bin/run-stack-container
