#!/bin/bash
# Runs inside the guest, once, from cloud-init. Installs the reference services from this disk.
set -euo pipefail
B=/mnt/bundle
say() { echo "stack-provision: $*" > /dev/console; }
trap 'say "failed at line $LINENO: $BASH_COMMAND"' ERR

say "installing packages"
DEBIAN_FRONTEND=noninteractive dpkg -i "$B"/debs/*.deb > /var/log/stack-provision-dpkg.log 2>&1 || { tail -20 /var/log/stack-provision-dpkg.log > /dev/console; exit 1; }

say "installing services"
id stack >/dev/null 2>&1 || useradd --system --create-home --shell /usr/sbin/nologin stack
install -d /opt/stack-reference
install -m 0644 "$B/app/stack_reference.py" /opt/stack-reference/
python3 -m compileall -q /opt/stack-reference
bash "$B/contract-setup.sh" stack-reference.service

# Start the server directly, ready when it says so (sd_notify): Debian's pg_ctlcluster wrapper is
# Perl, and it took most of the unit's 13 s at every cold boot under TCG.
ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
mkdir -p "/etc/systemd/system/postgresql@$ver-main.service.d"
cat > "/etc/systemd/system/postgresql@$ver-main.service.d/stack-direct.conf" <<UNIT
# Started with the first units of the boot, once the root is writable, instead of after basic.target
# (udev, tmpfiles, sockets...): the backend's health check waits for the database.
[Unit]
DefaultDependencies=no
After=systemd-remount-fs.service
Conflicts=shutdown.target
Before=shutdown.target

[Service]
Type=notify
User=postgres
Group=postgres
ExecStart=
ExecStart=/usr/lib/postgresql/$ver/bin/postgres -c config_file=/etc/postgresql/$ver/main/postgresql.conf
ExecStop=
ExecReload=
ExecReload=/bin/kill -HUP \$MAINPID
PIDFile=
RuntimeDirectory=postgresql
RuntimeDirectoryMode=2775
RuntimeDirectoryPreserve=yes
# SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for every client to leave).
KillMode=mixed
KillSignal=SIGINT
UNIT
# Local sockets only: no TLS context to set up at every start.
sed -i "s/^ssl = on/ssl = off/" "/etc/postgresql/$ver/main/postgresql.conf"
systemctl daemon-reload

say "creating the database"
systemctl start postgresql
runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q <<'SQL'
CREATE ROLE stack LOGIN;
CREATE DATABASE stack OWNER stack;
\c stack
SET ROLE stack;
CREATE TABLE "ApiKeySet" (
  id text PRIMARY KEY,
  "projectId" text NOT NULL,
  "publishableClientKey" text NOT NULL,
  "secretServerKey" text NOT NULL,
  "superSecretAdminKey" text NOT NULL,
  "cronSecret" text NOT NULL,
  "updatedAt" timestamptz NOT NULL DEFAULT now()
);
-- Test data for the persistence tests (PUT/GET /api/v1/internal/emulator-test/data/<name>).
CREATE TABLE "EmulatorTestData" (
  name text PRIMARY KEY,
  body bytea NOT NULL,
  "updatedAt" timestamptz NOT NULL DEFAULT now()
);
-- Public placeholders (guest contract): every start rotates them.
INSERT INTO "ApiKeySet" VALUES ('3142e763-b230-44b5-8636-aa62f7489c26', 'internal',
  '00000000000000000000000000000000ffffffffffffffffffffffffffffffff',
  '00000000000000000000000000000000eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee',
  '00000000000000000000000000000000dddddddddddddddddddddddddddddddd',
  '00000000000000000000000000000000cccccccccccccccccccccccccccccccc', now());
SQL

say "starting services"
systemctl start stack-config.service stack-reference.service
for i in $(seq 1 240); do
  if exec 3<>/dev/tcp/127.0.0.1/8102; then
    printf 'GET /health?db=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
    IFS= read -r status <&3 || status=''
    exec 3<&-
    [[ "$status" == *" 200 "* ]] && break
  fi 2>/dev/null
  sleep 0.5
  [[ $i -eq 240 ]] && { say "backend never became healthy"; journalctl -u stack-reference --no-pager | tail -20 > /dev/console; exit 1; }
done

# Guest contract markers: this hook rotates from any current value, not only from the placeholders;
# and its guest takes other host ports at settle (retarget-host-ports), so its snapshots hold none.
mkdir -p /etc/stack-emulator
touch /etc/stack-emulator/rotates-from-any-value
touch /etc/stack-emulator/retargets-ports
