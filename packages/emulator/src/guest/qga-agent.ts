import { exec, type QgaClient } from '@stack/qga-protocol';
import { shareTag } from '@stack/qemu-argv';
import { isRotationError, rotateSecrets } from '@stack/secret-rotation';
import { EmulatorError } from '../errors.js';
import type { GuestAgent, ShareMount } from '../seams/guest.js';
import { setGuestClock } from './guest-clock.js';

const GUEST_PATH = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

/**
 * Mounts each plugged share at /host<its host path> (host paths keep working inside), in one guest
 * command: after a hot-plug the driver binds asynchronously, so it waits (30 s at most) for the tag
 * to appear. Mounted here rather than by the image's mount hook: the original's mounts its one share
 * on /host whatever path it is given. /host is left as the image made it (a shared mount in the Stack
 * image), so a container that bind-mounts it sees the new mounts. Bash builtins only (every process
 * spawned costs tenths of a second under TCG); mount_tag holds a NUL. Arguments: tag, host path and
 * `ro` or `rw` per share; a read-only share is mounted with `-o ro` (the guest kernel refuses writes).
 */
const MOUNT_SCRIPT = `set -u
modprobe 9pnet_virtio 2>/dev/null
while [ $# -gt 0 ]; do
  tag=$1 dir=/host$2 mode=$3; shift 3
  end=$(( SECONDS + 30 ))
  until for f in /sys/bus/virtio/devices/*/mount_tag; do IFS= read -r -d '' t < "$f" 2>/dev/null; [ "$t" = "$tag" ] && break; t=; done; [ -n "$t" ]; do
    [ $SECONDS -lt $end ] || { echo "no 9p device tagged $tag after 30 s" >&2; exit 1; }
    sleep 0.05
  done
  mkdir -p "$dir" && { mountpoint -q "$dir" || mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,$mode" "$tag" "$dir"; } || exit 1
done`;

/**
 * Unmounts every 9p mount of our share tags (QEMU refuses to migrate a guest while a 9p export is
 * mounted: hw/9pfs adds a migration blocker at attach and drops it when the root fid is clunked).
 * /proc/mounts: "<tag> <dir> 9p ..."; innermost first; spaces in paths are octal-escaped there.
 */
const UNMOUNT_SCRIPT = `set -u
awk '$3 == "9p" && $1 ~ /^stackshare[0-9]+$/ { print $2 }' /proc/mounts | sort -r | while IFS= read -r dir; do
  umount "$(printf '%b' "$dir")" || echo "cannot unmount $dir" >&2
done
! awk '$3 == "9p" && $1 ~ /^stackshare[0-9]+$/ { found = 1 } END { exit !found }' /proc/mounts`;

/**
 * The mount script's command line: tag, host path and `ro`/`rw` per share, parents first (a share
 * inside another's mount point stays visible: a read-only parent mounted after it would hide a
 * read-write project below it).
 */
export function mountArgs(shares: readonly ShareMount[]): string[] {
  for (const { dir: d } of shares)
    if (!d.startsWith('/') || d.split('/').includes('..'))
      throw new EmulatorError('HOST_SHARE_FAILED', `not an absolute path without "..": ${d}`);
  const ordered = [...shares].sort((a, b) => a.dir.split('/').length - b.dir.split('/').length);
  return [
    '-c',
    MOUNT_SCRIPT,
    'mount-shares',
    ...ordered.flatMap((s) => [shareTag(s.slot), s.dir, s.readonly ? 'ro' : 'rw']),
  ];
}

async function mountShares(qga: QgaClient, shares: readonly ShareMount[], signal?: AbortSignal): Promise<void> {
  if (shares.length === 0) return;
  const args = mountArgs(shares);
  const r = await exec(qga, { path: '/bin/bash', args, env: GUEST_PATH, timeout: 45_000, signal }).catch((e: Error) => {
    throw new EmulatorError('HOST_SHARE_FAILED', `could not mount the shares in the guest: ${e.message}`, { cause: e });
  });
  if (r.exitCode !== 0)
    throw new EmulatorError(
      'HOST_SHARE_FAILED',
      `mounting the shares in the guest failed (exit ${r.exitCode ?? `signal ${r.signal}`}): ${r.stderr.toString('utf8').trim()}`,
    );
}

/** {@link GuestAgent} over a connected, synced qemu-ga client. */
export function qgaAgent(qga: QgaClient): GuestAgent {
  return {
    setClock: (clock, o = {}) =>
      setGuestClock(qga, {
        clock,
        ...(o.signal ? { signal: o.signal } : {}),
        ...(o.daemon !== undefined ? { daemon: o.daemon } : {}),
      }),
    mountShares: (shares, o = {}) => mountShares(qga, shares, o.signal),
    unmountShares: async (o = {}) => {
      const r = await exec(qga, {
        path: '/bin/bash',
        args: ['-c', UNMOUNT_SCRIPT],
        env: GUEST_PATH,
        timeout: o.timeout ?? 20_000,
        signal: o.signal,
      });
      return r.exitCode === 0 ? undefined : r.stderr.toString('utf8').trim() || 'a share is still mounted';
    },
    rotate: async (o) => {
      try {
        return await rotateSecrets(qga, {
          timeout: o.timeout ?? 60_000,
          signal: o.signal,
          ...(o.secrets ? { secrets: o.secrets } : {}),
        });
      } catch (e) {
        if (o.signal?.aborted) throw e;
        throw new EmulatorError(
          'ROTATION_FAILED',
          isRotationError(e) ? e.message : `secret rotation failed: ${(e as Error).message}`,
          { cause: e },
        );
      }
    },
    hasFile: async (path, o = {}) => {
      const r = await exec(qga, {
        path: '/bin/sh',
        args: ['-c', 'test -e "$1"', 'test', path],
        timeout: o.timeout ?? 20_000,
        signal: o.signal,
      }).catch(() => undefined);
      return r?.exitCode === 0;
    },
    run: (c) => exec(qga, c),
    close: () => qga.close(),
  };
}
