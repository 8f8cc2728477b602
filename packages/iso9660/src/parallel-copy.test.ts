import { closeSync, mkdtempSync, openSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CopyJob, CopyThreads, planPieces } from './parallel-copy.js';

const MiB = 1024 * 1024;

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return b;
}

describe('planPieces', () => {
  it('cuts big files into pieces, balances the threads and covers every byte once', () => {
    const jobs: CopyJob[] = [
      { path: 'big', size: 200 * MiB, position: 0 },
      { path: 'mid', size: 10 * MiB, position: 200 * MiB },
      { path: 'small', size: 5, position: 210 * MiB },
    ];
    const shares = planPieces(jobs, 2);
    expect(shares).toHaveLength(2);
    const loads = shares.map((s) => s.reduce((n, p) => n + p[2], 0));
    expect(loads[0]! + loads[1]!).toBe(210 * MiB + 5);
    expect(Math.abs(loads[0]! - loads[1]!)).toBeLessThanOrEqual(64 * MiB);
    const covered = shares
      .flat()
      .filter((p) => p[0] === 'big')
      .sort((a, b) => a[1] - b[1]);
    expect(covered.map((p) => [p[1], p[2], p[3]])).toEqual([
      [0, 64 * MiB, 0],
      [64 * MiB, 64 * MiB, 64 * MiB],
      [128 * MiB, 64 * MiB, 128 * MiB],
      [192 * MiB, 8 * MiB, 192 * MiB],
    ]);
    for (const s of shares) expect(s.map((p) => p[3])).toEqual([...s.map((p) => p[3])].sort((a, b) => a - b));
  });

  it('gives a thread with nothing to do an empty list', () => {
    expect(planPieces([{ path: 'a', size: 1, position: 0 }], 2)).toEqual([[['a', 0, 1, 0, 1]], []]);
  });
});

describe('CopyThreads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iso-copy-'));
  const a = pattern(3 * MiB + 7, 1);
  const b = pattern(5000, 2);
  writeFileSync(join(dir, 'a'), a);
  writeFileSync(join(dir, 'b'), b);

  it('copies every file to its position, leaving the rest of the image alone', async () => {
    const out = join(dir, 'out-1');
    writeFileSync(out, Buffer.alloc(4 * MiB, 0xee));
    const fd = openSync(out, 'r+');
    try {
      await new CopyThreads(fd, 2).run([
        { path: join(dir, 'a'), size: a.length, position: 4096 },
        { path: join(dir, 'b'), size: b.length, position: 3 * MiB + 8192 },
      ]);
    } finally {
      closeSync(fd);
    }
    const img = readFileSync(out);
    expect(img.subarray(0, 4096).every((x) => x === 0xee)).toBe(true);
    expect(img.subarray(4096, 4096 + a.length).equals(a)).toBe(true);
    expect(img.subarray(3 * MiB + 8192, 3 * MiB + 8192 + b.length).equals(b)).toBe(true);
    expect(img[3 * MiB + 8192 + b.length]).toBe(0xee);
  });

  it('reports a file that shrank, grew or vanished since it was listed, naming it', async () => {
    const out = join(dir, 'out-2');
    const fd = openSync(out, 'w');
    try {
      await expect(
        new CopyThreads(fd, 2).run([{ path: join(dir, 'b'), size: b.length + 1, position: 0 }]),
      ).rejects.toMatchObject({
        code: 'ISO_SIZE_MISMATCH',
        path: join(dir, 'b'),
        message: expect.stringContaining('shrank'),
      });
      await expect(
        new CopyThreads(fd, 1).run([{ path: join(dir, 'b'), size: b.length - 1, position: 0 }]),
      ).rejects.toMatchObject({ code: 'ISO_SIZE_MISMATCH', message: expect.stringContaining('grew') });
      await expect(
        new CopyThreads(fd, 2).run([{ path: join(dir, 'nope'), size: 1, position: 0 }]),
      ).rejects.toMatchObject({ code: 'ISO_SOURCE_ERROR', path: join(dir, 'nope') });
    } finally {
      closeSync(fd);
    }
  });

  it('stops every thread on abort before it settles: nothing is written afterwards', async () => {
    const big = join(dir, 'sparse');
    writeFileSync(big, '');
    truncateSync(big, 1024 * MiB);
    const out = join(dir, 'out-3');
    const fd = openSync(out, 'w');
    const controller = new AbortController();
    try {
      const run = new CopyThreads(fd, 2).run([{ path: big, size: 1024 * MiB, position: 0 }], {
        signal: controller.signal,
      });
      // Abort once the threads are writing (a 1 GiB copy takes far longer than this poll).
      while (statSync(out).size === 0) await new Promise((r) => setTimeout(r, 2));
      controller.abort(new Error('stop now'));
      await expect(run).rejects.toThrow('stop now');
      const size = statSync(out).size;
      await new Promise((r) => setTimeout(r, 300));
      expect(statSync(out).size).toBe(size);
      expect(size).toBeLessThan(1024 * MiB);
    } finally {
      closeSync(fd);
    }
  });

  it('can be closed before it is given work', async () => {
    const fd = openSync(join(dir, 'out-4'), 'w');
    try {
      await new CopyThreads(fd, 2).close();
    } finally {
      closeSync(fd);
    }
  });
});
