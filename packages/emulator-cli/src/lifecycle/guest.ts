import { exec, QgaClient, setTime } from '@stack/qga-protocol';
import { deviceAdd, type QmpClient } from '@stack/qmp-protocol';
import { isRotationError, rotateSecrets, type SecretSet, writeClientKeyFile } from '@stack/secret-rotation';
import { EmulatorError } from '../errors.js';
import { consoleTail } from './vm-process.js';

export const MOUNT_HOOK = '/usr/local/bin/mount-host-fs';

/**
 * Connects to the guest agent and waits until it answers guest-sync. Each attempt is short: a guest
 * agent that is not up yet leaves the sync unanswered, and a fresh sync (new id) is sent at once.
 */
export async function waitForAgent(socket: string, options: { timeoutMs: number; signal?: AbortSignal; vmExited?: () => boolean; serialLog?: string }): Promise<QgaClient> {
  const end = Date.now() + options.timeoutMs;
  const qga = await QgaClient.connect(socket, { timeout: Math.max(1000, options.timeoutMs), signal: options.signal });
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
  throw new EmulatorError('GUEST_FAILED', `the guest agent did not answer guest-sync within ${options.timeoutMs / 1000} s${last ? ` (${(last as Error).message})` : ''}${console ? `; last guest console lines:\n${console}` : ''}`, {
    cause: last,
    transient: !options.vmExited?.(),
    ...(options.serialLog ? { hint: `full guest console: ${options.serialLog}` } : {}),
  });
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
    const r = await exec(qga, { path: '/bin/date', args: ['-u', '-s', `@${(Date.now() / 1000).toFixed(3)}`], env: { PATH: '/usr/bin:/bin' }, timeout: 5000, signal, maxPollInterval: 10 });
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

/** Snapshot layout: plugs the 9p device into the empty root port kept for it. */
export async function hotplugHostShare(qmp: QmpClient, signal?: AbortSignal): Promise<void> {
  await deviceAdd(qmp, { driver: 'virtio-9p-pci', id: 'hostfs-dev', fsdev: 'hostfs', mount_tag: 'hostfs', bus: 'hostfs-port' }, { timeout: 5000, signal }).catch((e: Error) => {
    throw new EmulatorError('HOST_SHARE_FAILED', `hot-plugging the host share failed: ${e.message}`, { cause: e });
  });
}

/**
 * Runs the contract's mount hook. The directory's absolute host path goes in STACK_HOST_FS_DIR, so a
 * guest that supports it mounts the share at /host<path> and host paths keep working inside.
 */
export async function mountHostShare(qga: QgaClient, hostDir: string, signal?: AbortSignal): Promise<void> {
  const r = await exec(qga, {
    path: MOUNT_HOOK,
    args: ['--post-resume'],
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', STACK_HOST_FS_DIR: hostDir },
    timeout: 20_000,
    signal,
  }).catch((e: Error) => {
    throw new EmulatorError('HOST_SHARE_FAILED', `could not run ${MOUNT_HOOK}: ${e.message}`, { cause: e });
  });
  if (r.exitCode !== 0) throw new EmulatorError('HOST_SHARE_FAILED', `${MOUNT_HOOK} --post-resume exited with ${r.exitCode ?? `signal ${r.signal}`}: ${r.stderr.toString('utf8').trim()}`);
}

/** Pushes fresh secrets and publishes the client key for the CLI (0600). */
export async function rotate(qga: QgaClient, pckFile: string, signal?: AbortSignal): Promise<SecretSet> {
  try {
    const secrets = await rotateSecrets(qga, { timeout: 60_000, signal });
    await writeClientKeyFile(pckFile, secrets.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY);
    return secrets;
  } catch (e) {
    if (signal?.aborted) throw new EmulatorError('INTERRUPTED', 'interrupted', { cause: e });
    throw new EmulatorError('ROTATION_FAILED', isRotationError(e) ? e.message : `secret rotation failed: ${(e as Error).message}`, { cause: e });
  }
}
