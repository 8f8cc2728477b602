#!/bin/bash
# Runs inside the guest, last, from cloud-init (after provision.sh and any layer's own step): makes
# later boots fast and tells the host the image is ready.
set -euo pipefail
say() { echo "stack-provision: $*" > /dev/console; }
say "finishing"
# Later boots must be fast: no datasource search, no first-boot modules.
touch /etc/cloud/cloud-init.disabled
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
sync
echo STACK_CLOUD_INIT_DONE > /dev/console
systemctl poweroff --no-block
