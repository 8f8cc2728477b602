/** When a transfer counts as stalled. */
export interface StallPolicy {
  /**
   * The window, in ms: a transfer that receives fewer than `minBytesPerSecond` × window bytes over
   * any window of this length (nothing at all included) is stalled. @default 30000
   */
  windowMs?: number;
  /** @default 1024 */
  minBytesPerSecond?: number;
}

/**
 * Sans-I/O rate check over a sliding window, fed (time, bytes so far) samples. undici's own
 * bodyTimeout only sees silence: a server trickling one byte every 500 ms kept a download alive
 * forever. The verdict comes from the oldest sample at least a window old, so a stall is reported
 * within a window and one sampling step of when it began.
 */
export class RateWindow {
  readonly windowMs: number;
  readonly minBytes: number;
  #samples: Array<{ at: number; bytes: number }> = [];

  constructor(policy: StallPolicy = {}) {
    this.windowMs = policy.windowMs ?? 30_000;
    this.minBytes = ((policy.minBytesPerSecond ?? 1024) * this.windowMs) / 1000;
  }

  /** Records that `bytes` had arrived in total at `at` (ms); returns why it is stalled, or undefined. */
  sample(at: number, bytes: number): string | undefined {
    this.#samples.push({ at, bytes });
    // Keep the newest sample that is at least a window old, and everything after it.
    while (this.#samples.length > 1 && at - this.#samples[1]!.at >= this.windowMs) this.#samples.shift();
    const base = this.#samples[0]!;
    if (at - base.at < this.windowMs) return undefined;
    const got = bytes - base.bytes;
    if (got >= this.minBytes) return undefined;
    const secs = Math.round((at - base.at) / 100) / 10;
    return got === 0
      ? `no data for ${secs} s`
      : `only ${got} bytes in ${secs} s (below ${Math.round((this.minBytes * 1000) / this.windowMs)} B/s)`;
  }
}

/**
 * Watches a byte counter on a timer and calls `onStall` once with the reason. `stop()` ends it.
 * `now` and the timer are injectable for tests.
 */
export function watchRate(
  policy: StallPolicy,
  read: () => number,
  onStall: (reason: string) => void,
  clock: { now?: () => number; setInterval?: typeof setInterval; clearInterval?: typeof clearInterval } = {},
): { stop(): void } {
  const window = new RateWindow(policy);
  const now = clock.now ?? (() => performance.now());
  window.sample(now(), read());
  const timer = (clock.setInterval ?? setInterval)(
    () => {
      const why = window.sample(now(), read());
      if (why) {
        stop();
        onStall(why);
      }
    },
    Math.max(10, window.windowMs / 4),
  );
  (timer as { unref?: () => void }).unref?.();
  const stop = () => (clock.clearInterval ?? clearInterval)(timer);
  return { stop };
}
