import { describe, expect, it } from 'vitest';
import { formatStopTimings, formatTimings } from './timings-text.js';

describe('timings as text', () => {
  it("lists a start's steps in the order they happen, whatever order they were recorded in, in seconds", () => {
    expect(formatTimings({ healthy: 700, running: 310, qemuLaunched: 50, rotated: 620, agentReady: 400 })).toBe(
      'qemuLaunched 0.05s → running 0.31s → agentReady 0.40s → rotated 0.62s → healthy 0.70s',
    );
  });

  it('leaves out the steps a start skipped and anything that is not a step of it', () => {
    expect(formatTimings({ imageReady: 345_000, captured: 379_650, healthy: 380_850, stopped: 1 })).toBe(
      'imageReady 345.00s → captured 379.65s → healthy 380.85s',
    );
    expect(formatTimings({})).toBe('');
  });

  it("lists a stop's steps in their order", () => {
    expect(
      formatStopTimings({ stopped: 430, ramSaved: 350, sharesUnmounted: 100, committed: 420, qemuExited: 400 }),
    ).toBe('sharesUnmounted 0.10s → ramSaved 0.35s → qemuExited 0.40s → committed 0.42s → stopped 0.43s');
    expect(formatStopTimings({ healthy: 700, stopped: 90 })).toBe('stopped 0.09s');
  });
});
