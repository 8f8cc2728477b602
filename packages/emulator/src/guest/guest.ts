import { exec, QgaClient, setTime } from '@stack/qga-protocol';
import { shareDevice, shareTag } from '@stack/qemu-argv';
import { deviceAdd, type QmpClient } from '@stack/qmp-protocol';
import { isRotationError, rotateSecrets, type SecretSet, writeClientKeyFile } from '@stack/secret-rotation';
import { EmulatorError } from '../errors.js';
import { consoleTail } from '../vm/vm-process.js';
import { trace } from '../trace/trace.js';

/**
 * Connects to the guest agent and waits until it answers guest-sync. Each attempt is short: a guest
 * agent that is not up yet leaves the sync unanswered, and a fresh sync (new id) is sent at once.
 */
export async function waitForAgent(
  socket: string,
  options: { timeoutMs: number; signal?: AbortSignal; vmExited?: () => boolean; serialLog?: string },
): Promise<QgaClient> {
  const end = Date.now() + options.timeoutMs;
  const qga = await QgaClient.connect(socket, {
    timeout: Math.max(1000, options.timeoutMs),
    signal: options.signal,
    trace: trace.protocol('qga', socket),
  });
  let last: unknown;
  while (Date.now() < end) {
    options.signal?.throwIfAborted();
    if (options.vmExited?.()) break;
    try {
      await qga.sync({ timeout: 1000, signal: options.signal });
      return qga;
    } catch (e) {
      last = e;
      if (options.signal?.aborted) break;
      if (qga.closed) break;
    }
  }
  await qga.close().catch(() => {});
  if (options.signal?.aborted) throw new EmulatorError('INTERRUPTED', 'interrupted');
  // The guest console is the only view of a boot that never reached the agent.
  const console = options.serialLog ? consoleTail(options.serialLog) : '';
  throw new EmulatorError(
    'GUEST_FAILED',
    `the guest agent did not answer guest-sync within ${options.timeoutMs / 1000} s${last ? ` (${(last as Error).message})` : ''}${console ? `; last guest console lines:\n${console}` : ''}`,
    {
      cause: last,
      transient: !options.vmExited?.(),
      ...(options.serialLog ? { hint: `full guest console: ${options.serialLog}` } : {}),
    },
  );
}

/**
 * A resumed guest's clock lags by the time it spent in the snapshot. `date -s` through the agent, not
 * guest-set-time: qemu-ga follows that with `hwclock -w`, which waits for the RTC's next second
 * boundary (0.6-0.9 s per resume measured under TCG), and on a guest without hwclock (Debian 13
 * minbase: it moved to util-linux-extra) reports an error although the clock was set
 * (qga/commands-posix.c, qmp_guest_set_time). guest-set-time is the fallback. A clock that cannot be
 * set is worth a warning, never a failed start.
 */
export async function syncGuestClock(qga: QgaClient, signal?: AbortSignal): Promise<string | undefined> {
  try {
    const r = await exec(qga, {
      path: '/bin/date',
      args: ['-u', '-s', `@${(Date.now() / 1000).toFixed(3)}`],
      env: { PATH: '/usr/bin:/bin' },
      timeout: 5000,
      signal,
      maxPollInterval: 10,
    });
    if (r.exitCode === 0) return undefined;
  } catch (e) {
    if (signal?.aborted) throw e;
  }
  try {
    await setTime(qga, new Date(), { timeout: 5000, signal });
    return undefined;
  } catch (e) {
    if (signal?.aborted) throw e;
    const msg = (e as Error).message;
    if (isHwclockOnlyFailure(msg)) return undefined;
    return `could not set the guest clock: ${msg}`;
  }
}

/** True for qemu-ga's error when only the hardware-clock sync after setting the system clock failed. */
export function isHwclockOnlyFailure(message: string): boolean {
  return /hwclock|hardware clock/i.test(message);
}

/** A share to mount: its slot (9p device `share<slot>-dev`, tag `stackshare<slot>`) and host directory. */
export interface ShareMount {
  slot: number;
  dir: string;
}

/** Plugs the 9p devices of slots `from` to `to - 1` into their root ports (`share-port<i>`, fsdev `share<i>`). */
export async function plugShares(qmp: QmpClient, from: number, to: number, signal?: AbortSignal): Promise<void> {
  for (let i = from; i < to; i++) {
    await deviceAdd(qmp, shareDevice(i), { timeout: 5000, signal }).catch((e: Error) => {
      throw new EmulatorError('HOST_SHARE_FAILED', `hot-plugging the share of slot ${i} failed: ${e.message}`, {
        cause: e,
      });
    });
  }
}

const GUEST_PATH = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

/**
 * Mounts each plugged share at /host<its host path> (host paths keep working inside), in one guest
 * command: after a hot-plug the driver binds asynchronously, so it waits (30 s at most) for the tag
 * to appear. The CLI mounts them itself rather than through the image's mount hook: the original's
 * mounts its one share on /host whatever path it is given. /host is left as the image made it (a
 * shared mount in the Stack image), so a container that bind-mounts it sees the new mounts.
 */
export async function mountShares(qga: QgaClient, shares: readonly ShareMount[], signal?: AbortSignal): Promise<void> {
  if (shares.length === 0) return;
  for (const { dir: d } of shares)
    if (!d.startsWith('/') || d.split('/').includes('..'))
      throw new EmulatorError('HOST_SHARE_FAILED', `not an absolute path without "..": ${d}`);
  // Bash builtins only (every process spawned costs tenths of a second under TCG); mount_tag holds a NUL.
  const script = `set -u
modprobe 9pnet_virtio 2>/dev/null
while [ $# -gt 0 ]; do
  tag=$1 dir=/host$2; shift 2
  end=$(( SECONDS + 30 ))
  until for f in /sys/bus/virtio/devices/*/mount_tag; do IFS= read -r -d '' t < "$f" 2>/dev/null; [ "$t" = "$tag" ] && break; t=; done; [ -n "$t" ]; do
    [ $SECONDS -lt $end ] || { echo "no 9p device tagged $tag after 30 s" >&2; exit 1; }
    sleep 0.05
  done
  mkdir -p "$dir" && { mountpoint -q "$dir" || mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 "$tag" "$dir"; } || exit 1
done`;
  const args = ['-c', script, 'mount-shares', ...shares.flatMap((s) => [shareTag(s.slot), s.dir])];
  const r = await exec(qga, { path: '/bin/bash', args, env: GUEST_PATH, timeout: 45_000, signal }).catch((e: Error) => {
    throw new EmulatorError('HOST_SHARE_FAILED', `could not mount the shares in the guest: ${e.message}`, { cause: e });
  });
  if (r.exitCode !== 0)
    throw new EmulatorError(
      'HOST_SHARE_FAILED',
      `mounting the shares in the guest failed (exit ${r.exitCode ?? `signal ${r.signal}`}): ${r.stderr.toString('utf8').trim()}`,
    );
}

/**
 * Unmounts every 9p mount of our share tags (QEMU refuses to migrate a guest while a 9p export is
 * mounted: hw/9pfs adds a migration blocker at attach and drops it when the root fid is clunked).
 * Returns the guest's complaint when one stays mounted (a process holds it), else undefined.
 */
export async function unmountShares(qga: QgaClient, signal?: AbortSignal): Promise<string | undefined> {
  // /proc/mounts: "<tag> <dir> 9p ..."; innermost first. Spaces in paths are octal-escaped there.
  const script = `set -u
awk '$3 == "9p" && $1 ~ /^stackshare[0-9]+$/ { print $2 }' /proc/mounts | sort -r | while IFS= read -r dir; do
  umount "$(printf '%b' "$dir")" || echo "cannot unmount $dir" >&2
done
! awk '$3 == "9p" && $1 ~ /^stackshare[0-9]+$/ { found = 1 } END { exit !found }' /proc/mounts`;
  const r = await exec(qga, { path: '/bin/bash', args: ['-c', script], env: GUEST_PATH, timeout: 20_000, signal });
  return r.exitCode === 0 ? undefined : r.stderr.toString('utf8').trim() || 'a share is still mounted';
}

/** Pushes fresh secrets (or `secrets`) and publishes the client key for the CLI (0600). */
export async function rotate(
  qga: QgaClient,
  pckFile: string,
  options: { signal?: AbortSignal; timeoutMs?: number; secrets?: SecretSet } = {},
): Promise<SecretSet> {
  const { signal } = options;
  try {
    const secrets = await rotateSecrets(qga, {
      timeout: options.timeoutMs ?? 60_000,
      signal,
      ...(options.secrets ? { secrets: options.secrets } : {}),
    });
    await writeClientKeyFile(pckFile, secrets.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY);
    return secrets;
  } catch (e) {
    if (signal?.aborted) throw new EmulatorError('INTERRUPTED', 'interrupted', { cause: e });
    throw new EmulatorError(
      'ROTATION_FAILED',
      isRotationError(e) ? e.message : `secret rotation failed: ${(e as Error).message}`,
      { cause: e },
    );
  }
}
