#!/bin/bash
# Runs inside the guest from an appliance's provision.sh, after its packages are installed: the parts
# of the guest contract every appliance shares. Usage: contract-setup.sh <the unit that starts the services>
#   - the hooks and units of every layer's bundle (bin/, systemd/) installed and enabled
#   - stack-config.service: the runtime config disk read at boot (/run/stack/runtime.env, base.env)
#   - stack-guest-clock.service: the host sets the clock after a resume without a spawn (optional part)
#   - the 9p drivers loaded once the services are starting, so they are in every snapshot's memory
#   - the ACPI power button powers the guest off (`stack-emulator stop`)
set -euo pipefail
B=/mnt/bundle
services=${1:?usage: contract-setup.sh <services unit>}
install -m 0755 "$B"/bin/* /usr/local/bin/
install -m 0644 "$B"/systemd/*.service /etc/systemd/system/
systemctl daemon-reload
systemctl enable stack-config.service stack-guest-clock.service "$services"
# After a resume the hot-plugged share then binds at once instead of waiting for udev to load them
# under emulation (0.65 s instead of 1.3 s). Not from modules-load.d: that holds up sysinit.target,
# and with it every service of a cold boot, by about a second under TCG.
cat > /etc/systemd/system/stack-host-share-drivers.service <<UNIT
[Unit]
Description=Load the 9p drivers for the host share
After=$services

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/modprobe -a 9p 9pnet_virtio

[Install]
WantedBy=multi-user.target
UNIT
systemctl enable stack-host-share-drivers.service
# The host stops the guest with an ACPI power-button press (QMP system_powerdown); minbase has no
# dbus, so logind cannot take it.
mkdir -p /etc/acpi/events
printf 'event=button/power.*\naction=/usr/bin/systemctl poweroff --no-block\n' > /etc/acpi/events/stack-powerbtn
systemctl enable acpid.service
