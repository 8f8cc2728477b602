import { describe, expect, it } from 'vitest';
import { type RingRegion, RingSpace } from './ring-space.js';

const overlaps = (a: RingRegion, b: RingRegion) => a.start < b.end && b.start < a.end;

describe('RingSpace', () => {
  it('keeps a pending read region in use while the bytes copied in after it are consumed first', () => {
    const space = new RingSpace(100);
    const read = space.take(40, 40, 0)!; // the socket's next read goes here
    const copy = space.take(1, 30, 0)!; // the body bytes that came with the head, copied in meanwhile
    expect([read.start, read.end, copy.start, copy.end]).toEqual([0, 40, 40, 70]);
    copy.used = copy.end;
    copy.last = 0; // range 0
    space.close(copy);
    read.used = 25;
    read.last = 1; // range 1, published after range 0 though it lies before it in the ring
    space.close(read);
    // Range 0 consumed, range 1 not: the read's bytes stay in use, so the wrap must stop short of them.
    const next = space.take(1, 100, 1)!;
    expect(overlaps(next, read)).toBe(false);
    expect([next.start, next.end]).toEqual([70, 100]);
    expect(space.take(1, 100, 1)).toBeUndefined();
    expect(space.take(1, 100, 2)).toMatchObject({ start: 0 });
  });

  it('gives back the unused end of the latest region', () => {
    const space = new RingSpace(100);
    const r = space.take(10, 50, 0)!;
    r.used = 12;
    r.last = 0;
    space.close(r);
    expect(space.take(1, 10, 0)).toMatchObject({ start: 12, end: 22 });
  });

  it('never hands out bytes in use, around the ring many times (random walk against a model)', () => {
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const space = new RingSpace(1000);
    const held: RingRegion[] = [];
    let produced = 0;
    let consumed = 0;
    let handed = 0;
    for (let step = 0; step < 6000; step++) {
      if (rand(3) === 0 && consumed < produced) consumed += 1 + rand(produced - consumed);
      const r = space.take(1 + rand(60), 1 + rand(200), consumed);
      if (!r) continue;
      handed += r.end - r.start;
      expect(r.end - r.start).toBeGreaterThan(0);
      expect(r.end).toBeLessThanOrEqual(1000);
      const clash = held.find((h) => (h.open || h.last >= consumed) && overlaps(r, h));
      if (clash) expect.fail(`step ${step}: [${r.start}, ${r.end}) overlaps [${clash.start}, ${clash.end}) in use`);
      // Publish zero to two ranges from it, possibly leaving its end unused, then close it.
      for (let k = rand(3); k > 0 && r.used < r.end; k--) {
        r.used += 1 + rand(r.end - r.used);
        r.last = produced++;
      }
      space.close(r);
      held.push(r);
      if (held.length > 64) held.shift();
    }
    expect(handed).toBeGreaterThan(10 * 1000); // it went around the ring many times
  });
});
