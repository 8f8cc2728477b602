/** Download progress, emitted at most every `interval` ms and once at the end. */
export interface Progress {
  bytes: number;
  /** Total bytes when known. */
  total: number | undefined;
  bytesPerSecond: number;
  /** Seconds left when the total and a speed are known. */
  etaSeconds: number | undefined;
  done: boolean;
}

/** Turns byte counts into throttled progress events (speed over the whole transfer of this attempt). */
export function progressMeter(
  onProgress: ((p: Progress) => void) | undefined,
  options: { interval?: number; now?: () => number } = {},
) {
  const now = options.now ?? (() => performance.now());
  const interval = options.interval ?? 100;
  let startAt = now();
  let startBytes = 0;
  let last = -Infinity;
  const emit = (bytes: number, total: number | undefined, done: boolean) => {
    const t = now();
    if (!done && t - last < interval) return;
    last = t;
    const secs = (t - startAt) / 1000;
    const bytesPerSecond = secs > 0 ? (bytes - startBytes) / secs : 0;
    const etaSeconds =
      total !== undefined && bytesPerSecond > 0 ? Math.max(0, (total - bytes) / bytesPerSecond) : undefined;
    onProgress?.({ bytes, total, bytesPerSecond, etaSeconds, done });
  };
  return {
    /** A new attempt begins at `bytes` (resumed bytes do not count toward the speed). */
    restart(bytes: number) {
      startAt = now();
      startBytes = bytes;
    },
    update: (bytes: number, total: number | undefined) => emit(bytes, total, false),
    finish: (bytes: number, total: number | undefined) => emit(bytes, total, true),
  };
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i > 0 && n < 10 ? `${n.toFixed(1)} ${units[i]}` : `${Math.round(n)} ${units[i]}`;
}
