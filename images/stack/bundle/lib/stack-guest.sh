# Sourced by the Stack appliance's guest scripts: the one place for the container's name, image,
# volumes and the small helpers they share. Bash only (no curl in the guest: a process under TCG
# costs tenths of a second, and /dev/tcp is a builtin).
STACK_IMAGE=stack-local-emulator
STACK_CONTAINER=stack
STACK_CONTAINER_ENV=${STACK_CONTAINER_ENV:-/run/stack-auth/local-emulator.env}
# The data of every service, kept on the guest disk across container restarts and image updates.
STACK_VOLUMES=(
  -v stack-postgres-data:/var/lib/postgresql/data
  -v stack-redis-data:/data/redis
  -v stack-clickhouse-data:/var/lib/clickhouse
  -v stack-minio-data:/data/minio
  -v stack-inbucket-data:/data/inbucket
)
# V8 under TCG: the optimising tiers emit code that emulation mistranslates (crashes in long runs
# such as the migrations). Node refuses these in NODE_OPTIONS, so they go on the command line.
STACK_NODE_FLAGS=(--no-opt --no-wasm-tier-up --no-wasm-dynamic-tiering --no-wasm-code-gc)

stack_say() { echo "stack-provision: $*" > /dev/console; echo "stack-provision: $*" >&2; }

# http_status PORT PATH [HEADER...]: the status code of GET http://127.0.0.1:PORT/PATH, or 000 when
# nothing answers. Connect and read are bounded by the caller's loop (the services are local).
http_status() {
  local port=$1 path=$2 status='' h req
  shift 2
  req="GET ${path} HTTP/1.1"$'\r\n'"Host: localhost"$'\r\n'
  for h in "$@"; do req+="${h}"$'\r\n'; done
  req+="Connection: close"$'\r\n\r\n'
  { exec 3<>"/dev/tcp/127.0.0.1/${port}"; } 2>/dev/null || { echo 000; return; }
  printf '%s' "$req" >&3
  IFS=' ' read -r -t 10 _ status _ <&3 || status=000
  exec 3<&-
  echo "${status:-000}"
}

# tcp_open PORT: whether something listens on 127.0.0.1:PORT.
tcp_open() { { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null && { exec 3<&-; return 0; }; return 1; }

# The port prefix of this boot (runtime.env from the config disk; 81 by default).
stack_port_prefix() {
  local line prefix=81
  while IFS= read -r line; do [[ "$line" == STACK_EMULATOR_PORT_PREFIX=* ]] && prefix=${line#*=}; done < /run/stack/runtime.env 2>/dev/null || true
  echo "$prefix"
}
