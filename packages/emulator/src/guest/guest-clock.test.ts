import { QgaCommandError, type QgaClient } from '@stack/qga-protocol';
import { describe, expect, it } from 'vitest';
import { CLOCK_FIFO, setGuestClock } from './guest-clock.js';

interface Guest {
  /** The image has the clock daemon's FIFO. */
  fifo: boolean;
  /** The daemon applies what it reads. */
  applies: boolean;
  /** The daemon's first wake-up is this late (ms): it sets the stale time it read. @default 0 */
  firstLate?: number;
  /** Exit code of `date -s`. */
  dateExit: number;
  /** guest-set-time's error, if any. */
  setTimeError?: string;
}

/**
 * A guest agent that answers the commands setting the clock uses, with a guest clock the daemon sets
 * from the FIFO's line; the host clock moves 7 ms per agent call.
 */
function fakeGuest(g: Guest) {
  let host = 1_780_000_000_000;
  let offset = -3_600_000; // an hour in the snapshot
  let writes = 0;
  const calls: string[] = [];
  const qga = {
    execute: async (command: string, args?: Record<string, unknown>) => {
      host += 7;
      calls.push(command);
      switch (command) {
        case 'guest-file-open':
          expect(args).toEqual({ path: CLOCK_FIFO, mode: 'r+' });
          if (!g.fifo)
            throw new QgaCommandError(command, 'GenericError', `failed to open file '${CLOCK_FIFO}': No such file`);
          return 5;
        case 'guest-file-write': {
          const line = Buffer.from(String(args!['buf-b64']), 'base64').toString();
          expect(line).toMatch(/^\d{13}\n$/);
          if (g.applies) offset = Number(line) - host - (writes++ === 0 ? (g.firstLate ?? 0) : 0);
          return { count: line.length, eof: false };
        }
        case 'guest-file-flush':
        case 'guest-file-close':
          return {};
        case 'guest-get-time':
          return (host + offset) * 1e6;
        case 'guest-exec':
          return { pid: 42 };
        case 'guest-exec-status':
          return { exited: true, exitcode: g.dateExit };
        case 'guest-set-time':
          if (g.setTimeError) throw new QgaCommandError(command, 'GenericError', g.setTimeError);
          return {};
        default:
          throw new Error(`unexpected ${command}`);
      }
    },
  } as unknown as QgaClient;
  const clock = {
    now: () => host,
    sleep: async (ms: number) => {
      host += ms;
    },
  };
  return { qga, calls, clock, now: () => host };
}

describe('setGuestClock: the cheapest way the image allows', () => {
  it('through the daemon: one write to its FIFO, checked with guest-get-time; no process spawned', async () => {
    const g = fakeGuest({ fifo: true, applies: true, dateExit: 0 });
    expect(await setGuestClock(g.qga, { clock: g.clock })).toEqual({ via: 'daemon' });
    expect(g.calls).not.toContain('guest-exec');
    expect(g.calls.filter((c) => c === 'guest-get-time')).toHaveLength(1);
  });

  it("the daemon's first wake-up after a resume is late: the time is sent again until the clock is right", async () => {
    const g = fakeGuest({ fifo: true, applies: true, firstLate: 250, dateExit: 0 });
    expect(await setGuestClock(g.qga, { clock: g.clock })).toEqual({ via: 'daemon' });
    expect(g.calls.filter((c) => c === 'guest-file-write')).toHaveLength(2);
    expect(g.calls).not.toContain('guest-exec');
  });

  it('an image without the daemon (the open fails): date -s through the agent, and the caller is told', async () => {
    const g = fakeGuest({ fifo: false, applies: false, dateExit: 0 });
    expect(await setGuestClock(g.qga, { clock: g.clock })).toEqual({ via: 'date', noDaemon: true });
    expect(g.calls).toEqual(['guest-file-open', 'guest-exec', 'guest-exec-status']);
  });

  it('an image known to have no daemon: date -s at once, no open of the FIFO first', async () => {
    const g = fakeGuest({ fifo: false, applies: false, dateExit: 0 });
    expect(await setGuestClock(g.qga, { clock: g.clock, daemon: false })).toEqual({ via: 'date' });
    expect(g.calls).toEqual(['guest-exec', 'guest-exec-status']);
  });

  it('a FIFO nobody applies (the daemon died): date -s once 3 s have passed', async () => {
    const g = fakeGuest({ fifo: true, applies: false, dateExit: 0 });
    const t0 = g.now();
    expect(await setGuestClock(g.qga, { clock: g.clock })).toEqual({ via: 'date' });
    expect(g.now() - t0).toBeGreaterThanOrEqual(3000);
    expect(g.calls.at(-2)).toBe('guest-exec');
  });

  it('date failing: guest-set-time; its hwclock-only failure still counts as set', async () => {
    const g = fakeGuest({
      fifo: false,
      applies: false,
      dateExit: 1,
      setTimeError: "child process has failed to set hardware clock to system time: failed to exec '/sbin/hwclock'",
    });
    expect(await setGuestClock(g.qga, { clock: g.clock })).toEqual({ via: 'guest-set-time', noDaemon: true });
  });

  it('nothing works: a warning, never a failure', async () => {
    const g = fakeGuest({ fifo: false, applies: false, dateExit: 1, setTimeError: 'Operation not permitted' });
    expect(await setGuestClock(g.qga, { clock: g.clock })).toEqual({
      warning: expect.stringMatching(/could not set the guest clock: .*Operation not permitted/),
      noDaemon: true,
    });
  });

  it('an abort is not swallowed by the fallbacks', async () => {
    const g = fakeGuest({ fifo: false, applies: false, dateExit: 0 });
    const ac = new AbortController();
    ac.abort(new Error('interrupted'));
    await expect(setGuestClock(g.qga, { clock: g.clock, signal: ac.signal })).rejects.toThrow();
  });
});
