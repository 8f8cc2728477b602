import { describe, expect, it } from 'vitest';
import { RateWindow, watchRate } from './stall-guard.js';

describe('RateWindow', () => {
  it('reports silence once a whole window has passed, not before', () => {
    const w = new RateWindow({ windowMs: 1000, minBytesPerSecond: 100 });
    expect(w.sample(0, 0)).toBeUndefined();
    expect(w.sample(500, 0)).toBeUndefined();
    expect(w.sample(999, 0)).toBeUndefined();
    expect(w.sample(1000, 0)).toBe('no data for 1 s');
  });

  it('reports a trickle below the minimum rate, and passes a steady transfer', () => {
    const trickle = new RateWindow({ windowMs: 2000, minBytesPerSecond: 1024 });
    let verdict: string | undefined;
    for (let t = 0, bytes = 0; t <= 3000 && !verdict; t += 500, bytes += 1) verdict = trickle.sample(t, bytes);
    expect(verdict).toMatch(/^only \d bytes in 2(\.\d)? s \(below 1024 B\/s\)$/);
    const steady = new RateWindow({ windowMs: 2000, minBytesPerSecond: 1024 });
    for (let t = 0; t <= 60_000; t += 500) expect(steady.sample(t, t * 2)).toBeUndefined();
  });

  it('judges the last window only: a fast start does not hide a later stall', () => {
    const w = new RateWindow({ windowMs: 1000, minBytesPerSecond: 10 });
    expect(w.sample(0, 0)).toBeUndefined();
    expect(w.sample(250, 1_000_000)).toBeUndefined();
    expect(w.sample(1000, 1_000_000)).toBeUndefined(); // the window from 0 holds the burst
    expect(w.sample(1250, 1_000_000)).toBe('no data for 1 s');
  });
});

describe('watchRate', () => {
  it('calls onStall once with the reason, on an injected clock', () => {
    let now = 0;
    let tick: () => void = () => {};
    const stalls: string[] = [];
    const stop = watchRate(
      { windowMs: 1000 },
      () => 0,
      (r) => stalls.push(r),
      {
        now: () => now,
        setInterval: ((fn: () => void) => ((tick = fn), 1)) as unknown as typeof setInterval,
        clearInterval: (() => (tick = () => {})) as unknown as typeof clearInterval,
      },
    );
    for (now = 250; now <= 2000; now += 250) tick();
    expect(stalls).toEqual(['no data for 1 s']);
    stop.stop();
  });
});
