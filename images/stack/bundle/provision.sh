#!/bin/bash
# Runs inside the guest, once, from cloud-init: installs the Stack Auth appliance from this disk.
#   debs/      docker.io and the contract's packages (carried here: provisioning needs no network)
#   img.tgz    the all-in-one container image (tools/stack-bundle: docker save | gzip)
#   base.env   the base environment, baked into the image (/etc/stack-emulator/base.env)
# Steps: packages, Docker, the container image, the contract's hooks and units, migrations and seed
# in a dependencies-only container, the services started once and awaited (STACK_SERVICES_READY),
# then the image slimmed and its free space released so the compressed image stays small.
set -euo pipefail
B=/mnt/bundle
mkdir -p /usr/local/lib/stack-emulator
install -m 0644 "$B"/lib/stack-guest.sh /usr/local/lib/stack-emulator/
. /usr/local/lib/stack-emulator/stack-guest.sh
trap 'stack_say "failed at line $LINENO: $BASH_COMMAND"' ERR

for f in img.tgz base.env; do
  [[ -s "$B/$f" ]] || { stack_say "the bundle has no $f: run tools/stack-bundle <stack checkout> -o images/stack/bundle first"; exit 1; }
done

stack_say "installing packages"
DEBIAN_FRONTEND=noninteractive dpkg -i "$B"/debs/*.deb > /var/log/stack-provision-dpkg.log 2>&1 || { tail -20 /var/log/stack-provision-dpkg.log > /dev/console; exit 1; }

stack_say "configuring Docker"
# Host networking only: no bridge, no NAT rules to set up at every boot under emulation.
mkdir -p /etc/docker
printf '{\n  "bridge": "none",\n  "iptables": false,\n  "ip6tables": false,\n  "log-driver": "local"\n}\n' > /etc/docker/daemon.json
systemctl enable docker.service
systemctl restart docker.service
for _ in $(seq 240); do docker info > /dev/null 2>&1 && break; sleep 0.5; done
docker info > /dev/null || { stack_say "the Docker daemon did not start"; journalctl -u docker --no-pager -n 30 > /dev/console; exit 1; }

stack_say "loading the container image"
gunzip -c "$B/img.tgz" | docker load > /var/log/stack-provision-docker-load.log
docker image inspect "$STACK_IMAGE" > /dev/null 2>&1 || { stack_say "img.tgz holds no image tagged $STACK_IMAGE: $(tail -3 /var/log/stack-provision-docker-load.log)"; exit 1; }

stack_say "installing the hooks and units"
install -d -m 0755 /etc/stack-emulator
install -m 0600 "$B/base.env" /etc/stack-emulator/base.env
# Guest contract marker: retarget-host-ports re-renders the container's environment with other host
# ports and restarts it, so the host keeps the ports out of this image's snapshot keys.
touch /etc/stack-emulator/retargets-ports
bash "$B/contract-setup.sh" stack.service
systemctl start stack-config.service

stack_say "running migrations and seed"
/usr/local/bin/render-stack-env
docker rm -f stack-build-init > /dev/null 2>&1 || true
docker run -d --name stack-build-init --network host --env-file "$STACK_CONTAINER_ENV" -e STACK_DEPS_ONLY=true \
  "${STACK_VOLUMES[@]}" "$STACK_IMAGE" > /dev/null
/usr/local/bin/wait-for-stack-deps stack-build-init
for _ in $(seq 120); do docker exec stack-build-init test -f /var/run/stack-local-init-services.done && break; sleep 1; done
docker exec stack-build-init test -f /var/run/stack-local-init-services.done || { stack_say "the container's init-services did not finish in 120 s"; docker logs --tail 100 stack-build-init > /dev/console 2>&1; exit 1; }
for step in migrate seed; do
  if ! docker exec --env-file "$STACK_CONTAINER_ENV" stack-build-init node "${STACK_NODE_FLAGS[@]}" dist/db-migrations.mjs "$step" > "/var/log/stack-provision-$step.log" 2>&1; then
    stack_say "db-migrations $step failed:"; tail -200 "/var/log/stack-provision-$step.log" > /dev/console; exit 1
  fi
done
docker stop stack-build-init > /dev/null
docker rm stack-build-init > /dev/null

stack_say "starting the services"
systemctl start stack.service
/usr/local/bin/wait-for-stack-ready
echo STACK_SERVICES_READY > /dev/console
systemctl stop stack.service

stack_say "slimming the image"
docker container prune -f > /dev/null
docker image prune -f > /dev/null
docker builder prune -af > /dev/null 2>&1 || true
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /var/log/stack-provision-docker-load.log
journalctl --vacuum-size=8M > /dev/null 2>&1 || true
# Free space back to the image file: the build disk takes discards (discard=unmap), so fstrim
# leaves the freed clusters unallocated and the compressed image never carries them. Where it
# cannot, zeros do the same after compression (dd stops at a full disk: that is the point).
sync
if ! fstrim -av > /dev/console 2>&1; then
  dd if=/dev/zero of=/zero.fill bs=1M status=none 2>/dev/null || true
  rm -f /zero.fill
  sync
fi
