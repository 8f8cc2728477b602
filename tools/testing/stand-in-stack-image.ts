import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A stand-in for Stack's all-in-one container image, built offline from Debian's busybox-static and
 * written as `docker save` writes an image (manifest.json, config, one layer), tagged
 * stack-local-emulator. It honours the container's side of the Stack appliance: with
 * STACK_DEPS_ONLY=true it serves the probes of the dependencies and writes the init-services marker;
 * `node … dist/db-migrations.mjs migrate|seed` (which must get the TCG V8 flags) records the seed's
 * client key in the database volume; `rotate-secrets` replaces it; otherwise it refuses to start
 * unless every variable of `required` is set and the database was seeded, then serves the four
 * contract probes and `GET /api/v1/projects/current` (200 only for the current key). Bytes are the
 * same for the same inputs, so an appliance built on it is cached.
 */
export function buildStandInStackImage(output: string, required: readonly string[]): void {
  const busybox = ensureBusybox();
  const work = mkdtempSync(join(tmpdir(), 'stand-in-image-'));
  try {
    const root = join(work, 'root');
    for (const d of ['bin', 'usr/local/bin', 'stand-in', 'var/run', 'tmp'])
      mkdirSync(join(root, d), { recursive: true });
    execFileSync('cp', [busybox, join(root, 'bin', 'busybox')]);
    const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' })
      .split('\n')
      .filter((a) => a && a !== 'busybox');
    for (const a of applets) symlinkSync('busybox', join(root, 'bin', a));
    const file = (path: string, text: string, mode = 0o755) => {
      writeFileSync(join(root, path), text);
      chmodSync(join(root, path), mode);
    };
    file('stand-in/required', `${required.join('\n')}\n`, 0o644);
    file('entrypoint.sh', ENTRYPOINT);
    file('stand-in/serve.sh', SERVE);
    file('usr/local/bin/node', NODE);
    file('usr/local/bin/rotate-secrets', ROTATE);
    const tar = (cwd: string, out: string, names: string[]) =>
      execFileSync('tar', [
        '--sort=name',
        '--mtime=@0',
        '--owner=0',
        '--group=0',
        '--numeric-owner',
        '-C',
        cwd,
        '-cf',
        out,
        ...names,
      ]);
    const layer = join(work, 'layer.tar');
    tar(root, layer, ['.']);
    const layerId = sha256(readFileSync(layer));
    const config = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: { Entrypoint: ['/entrypoint.sh'], Env: ['PATH=/usr/local/bin:/bin'], WorkingDir: '/' },
      rootfs: { type: 'layers', diff_ids: [`sha256:${layerId}`] },
    });
    const configId = sha256(Buffer.from(config));
    const image = join(work, 'image');
    mkdirSync(join(image, layerId), { recursive: true });
    renameSync(layer, join(image, layerId, 'layer.tar'));
    writeFileSync(join(image, `${configId}.json`), config);
    writeFileSync(
      join(image, 'manifest.json'),
      JSON.stringify([
        { Config: `${configId}.json`, RepoTags: ['stack-local-emulator:latest'], Layers: [`${layerId}/layer.tar`] },
      ]),
    );
    tar(image, `${output}.tmp`, ['manifest.json', `${configId}.json`, `${layerId}/layer.tar`]);
    renameSync(`${output}.tmp`, output);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Debian 12's static busybox (amd64), fetched once with apt-get download into the user cache. */
function ensureBusybox(): string {
  const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'stack-emulator', 'test-busybox');
  const bin = join(dir, 'busybox');
  if (existsSync(bin)) return bin;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('apt-get', ['download', 'busybox-static'], { cwd: tmp, stdio: 'ignore' });
  const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'))!;
  execFileSync('dpkg-deb', ['-x', join(tmp, deb), join(tmp, 'root')]);
  mkdirSync(dir, { recursive: true });
  renameSync(join(tmp, 'root', 'bin', 'busybox'), `${bin}.tmp`);
  renameSync(`${bin}.tmp`, bin);
  rmSync(tmp, { recursive: true, force: true });
  return bin;
}

// The scripts run under busybox sh in the container.
const ENTRYPOINT = `#!/bin/sh
# Stand-in for Stack's all-in-one container (a test fixture).
data=/var/lib/postgresql/data
serve() { PORT=$1 nc -ll -p "$1" -e /stand-in/serve.sh & }
if [ "$STACK_DEPS_ONLY" = true ]; then
  for p in 5432 8123 8071 9090 8080; do serve $p; done
  touch /var/run/stack-local-init-services.done
  while :; do sleep 3600; done
fi
missing=
for k in $(cat /stand-in/required); do
  eval "set_=\\\${$k+set}"
  [ "$set_" = set ] || missing="$missing $k"
done
if [ -n "$missing" ]; then echo "stand-in: missing variables:$missing" >&2; exit 1; fi
[ -f $data/seeded ] || { echo "stand-in: the database was never migrated and seeded" >&2; exit 1; }
for p in "$DASHBOARD_PORT" "$BACKEND_PORT" 9090 9001; do serve "$p"; done
echo "stand-in: serving on $DASHBOARD_PORT $BACKEND_PORT 9090 9001"
wait
`;

const SERVE = `#!/bin/sh
# One HTTP/1.1 request on stdin, its answer on stdout (nc -ll -e runs this per connection).
cr=$(printf '\\r')
read -r method target proto
path=\${target%%\\?*}
key=
project=
while IFS= read -r line; do
  line=\${line%"$cr"}
  [ -z "$line" ] && break
  case "$line" in
    [Xx]-[Ss]tack-[Pp]ublishable-[Cc]lient-[Kk]ey:*) key=\${line#*:}; key=\${key# } ;;
    [Xx]-[Ss]tack-[Pp]roject-[Ii]d:*) project=\${line#*:}; project=\${project# } ;;
  esac
done
reply() { printf 'HTTP/1.1 %s\\r\\nContent-Type: text/plain\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n%s' "$1" "\${#2}" "$2"; }
case "$PORT:$path" in
  5432:*) ;;
  8123:/ping) reply '200 OK' 'Ok.' ;;
  8071:/api/v1/health/) reply '204 No Content' '' ;;
  9090:/minio/health/live) reply '200 OK' '' ;;
  8080:*) reply '401 Unauthorized' 'token required' ;;
  9001:/) reply '200 OK' 'mail stand-in' ;;
  "$DASHBOARD_PORT":/handler/sign-in) reply '200 OK' 'sign-in stand-in' ;;
  "$BACKEND_PORT":/health) reply '200 OK' 'ok' ;;
  "$BACKEND_PORT":/api/v1/projects/current)
    if [ "$project" = internal ] && [ -n "$key" ] && [ "$key" = "$(cat /var/lib/postgresql/data/pck)" ]; then reply '200 OK' '{"id":"internal"}'; else reply '401 Unauthorized' 'bad key'; fi ;;
  *) reply '404 Not Found' "no $path on $PORT" ;;
esac
`;

const NODE = `#!/bin/sh
# Stand-in for node running dist/db-migrations.mjs migrate|seed, with the TCG-safe V8 flags.
data=/var/lib/postgresql/data
flags=
for a; do case $a in --no-opt) flags=ok ;; esac; step=$a; done
[ "$flags" = ok ] || { echo "stand-in node: run without --no-opt (V8 under TCG)" >&2; exit 3; }
[ -n "$STACK_DATABASE_CONNECTION_STRING" ] || { echo "stand-in node: no STACK_DATABASE_CONNECTION_STRING" >&2; exit 4; }
mkdir -p $data
case $step in
  migrate) touch $data/migrated ;;
  seed)
    [ -f $data/migrated ] || { echo "stand-in node: seed before migrate" >&2; exit 5; }
    printf '%s' "$STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY" > $data/pck
    touch $data/seeded ;;
  *) echo "stand-in node: unknown step $step" >&2; exit 2 ;;
esac
`;

const ROTATE = `#!/bin/sh
# Stand-in for the container's rotate-secrets: the new keys come in the environment.
for k in STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY STACK_INTERNAL_PROJECT_SECRET_SERVER_KEY STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY CRON_SECRET; do
  eval "v=\\\$$k"
  [ \${#v} -eq 64 ] || { echo "rotate-secrets: $k is not set to 64 characters" >&2; exit 2; }
done
printf '%s' "$STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY" > /var/lib/postgresql/data/pck.tmp
mv /var/lib/postgresql/data/pck.tmp /var/lib/postgresql/data/pck
`;
