import { exec, getTime, QgaCommandError, type QgaClient, setTime, writeFile } from '@stack/qga-protocol';
import type { ClockVia } from '../seams/guest.js';
import type { Clock } from '../seams/host.js';

/**
 * Guest contract (optional): the FIFO a clock daemon started before the snapshot reads
 * "<milliseconds since the epoch>\n" from and sets the wall clock with (images/contract's
 * stack-guest-clock). An image without it fails the open, and the clock is set the older way.
 */
export const CLOCK_FIFO = '/run/stack-emulator/clock';

/** How close the guest's clock must come to the host's for the daemon's write to count as done. */
const SET_WITHIN_MS = 100;
/** How long the daemon gets to apply it before the clock is set the older way (which costs more, under load most of all). */
const DAEMON_WAIT_MS = 3000;
/** The pause between two reads of the guest's clock. */
const POLL_MS = 10;
/** How long after a write a clock still off gets the time again. */
const RESEND_AFTER_MS = 100;

/** True for qemu-ga's error when only the hardware-clock sync after setting the system clock failed. */
export function isHwclockOnlyFailure(message: string): boolean {
  return /hwclock|hardware clock/i.test(message);
}

interface ClockOptions {
  /** The host's wall clock, in ms since the epoch, and its sleep (injected: op.seams.clock). */
  clock: Clock;
  signal?: AbortSignal;
  /**
   * `false`: the image is known to have no clock daemon (an earlier resume found no FIFO): `date`
   * straight away, without the failed open first (0.1 s of a resume under TCG). @default try the daemon
   */
  daemon?: false;
}

/** How the clock was set; `noDaemon` when the daemon's FIFO is not in the guest (worth remembering per image). */
export interface ClockResult {
  via?: ClockVia;
  warning?: string;
  noDaemon?: boolean;
}

/** qemu-ga's answer to opening a path that does not exist (qga/commands-posix.c: "failed to open file ... : No such file or directory"). */
const isMissingFile = (e: unknown) =>
  e instanceof QgaCommandError && e.command === 'guest-file-open' && /No such file/i.test(e.desc);

/**
 * Through the daemon: the host's time written to its FIFO (mode r+: an open that can neither block
 * the agent nor create the file), then the guest's clock read back with guest-get-time (served by the
 * agent itself) until it is the host's. The daemon sets the time it read when it wakes up: its first
 * wake-up after a resume is slow under TCG (its code translated again: 0.25 s measured), which leaves
 * the clock behind by that much, so the time is written again while the clock is not within
 * {@link SET_WITHIN_MS} (the daemon is warm by then). No process starts in the guest. `absent` when
 * the image has no daemon (the open fails), `late` when the clock did not come right within
 * {@link DAEMON_WAIT_MS}.
 */
async function byDaemon(qga: QgaClient, { clock, signal }: ClockOptions): Promise<'set' | 'late' | 'absent'> {
  const now = () => clock.now();
  // The time is taken once the FIFO is open: the first open after a resume is slow under TCG (0.17 s).
  const send = () => writeFile(qga, CLOCK_FIFO, () => `${Math.round(now())}\n`, { mode: 'r+', timeout: 2000, signal });
  try {
    await send();
  } catch (e) {
    // An image without the daemon: the caller falls back (and remembers it per image).
    if (isMissingFile(e) && !signal?.aborted) return 'absent';
    throw e;
  }
  const deadline = now() + DAEMON_WAIT_MS;
  let sent = now();
  for (;;) {
    const guestMs = Number((await getTime(qga, { timeout: 2000, signal })) / 1_000_000n);
    const off = guestMs - now();
    if (Math.abs(off) < SET_WITHIN_MS) return 'set';
    if (now() >= deadline) return 'late';
    // Applied late, or not read yet: a fresh line queues behind any unread one, and is applied last.
    if (now() - sent > RESEND_AFTER_MS) {
      await send();
      sent = now();
    } else {
      // Polled without a pause, the agent took the guest's CPU from the daemon and the rotation beside
      // it (4 instances at once on 2 cores: the clock took 3.5 s after the agent answered).
      await clock.sleep(POLL_MS, signal);
    }
  }
}

/**
 * Sets a resumed guest's wall clock (it lags by the time it spent in the snapshot), the cheapest way
 * the image allows: its clock daemon, else `date -s` through the agent, not guest-set-time: qemu-ga
 * follows that with `hwclock -w`, which waits for the RTC's next second boundary (0.6-0.9 s per resume
 * measured under TCG), and on a guest without hwclock (Debian 13 minbase: it moved to
 * util-linux-extra) reports an error although the clock was set (qga/commands-posix.c,
 * qmp_guest_set_time). guest-set-time is the last resort. A clock that cannot be set is worth a
 * warning, never a failed start.
 */
export async function setGuestClock(qga: QgaClient, options: ClockOptions): Promise<ClockResult> {
  const daemon =
    options.daemon === false
      ? 'absent'
      : await byDaemon(qga, options).catch((e: unknown) => rethrowIfAborted(e, options.signal));
  if (daemon === 'set') return { via: 'daemon' };
  // Learned here, not when the caller already knew it.
  const learned = daemon === 'absent' && options.daemon === undefined ? { noDaemon: true } : {};
  const set = await byProcess(qga, options);
  return { ...set, ...learned };
}

/** `date -s`, else guest-set-time: both start a process in the guest. */
async function byProcess(qga: QgaClient, { clock, signal }: ClockOptions): Promise<ClockResult> {
  const now = () => clock.now();
  try {
    const r = await exec(qga, {
      path: '/bin/date',
      args: ['-u', '-s', `@${(now() / 1000).toFixed(3)}`],
      env: { PATH: '/usr/bin:/bin' },
      timeout: 5000,
      signal,
      maxPollInterval: 10,
    });
    if (r.exitCode === 0) return { via: 'date' };
  } catch (e) {
    rethrowIfAborted(e, signal);
  }
  try {
    await setTime(qga, new Date(now()), { timeout: 5000, signal });
    return { via: 'guest-set-time' };
  } catch (e) {
    rethrowIfAborted(e, signal);
    const msg = (e as Error).message;
    if (isHwclockOnlyFailure(msg)) return { via: 'guest-set-time' };
    return { warning: `could not set the guest clock: ${msg}` };
  }
}

/** An abort is the caller's to see; any other failure here falls through to the next way. */
function rethrowIfAborted(e: unknown, signal: AbortSignal | undefined): false {
  if (signal?.aborted) throw e;
  return false;
}
