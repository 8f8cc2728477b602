import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SinkError, SinkThreads } from './sink-threads.js';

describe('SinkThreads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sinks-'));
  const data = randomBytes(40 * 1024 * 1024 + 3);
  const expected = createHash('sha256').update(data).digest('hex');

  /** Threads writing `path` from byte `start` on (its first `start` bytes are there already). */
  const begun = (path: string, start: number) => {
    const fd = openSync(path, start > 0 ? 'r+' : 'w');
    const sinks = new SinkThreads(path);
    sinks.begin(fd, start);
    return { sinks, fd };
  };
  /** Finishes, and checks that the file and its digest are exactly `data`. */
  const expectAllOfData = async ({ sinks, fd }: ReturnType<typeof begun>, path: string) => {
    expect(await sinks.finish()).toEqual({ size: data.length, sha256: expected });
    closeSync(fd);
    expect(readFileSync(path).equals(data)).toBe(true);
  };

  it('writes every pushed chunk after a resumed prefix and hashes prefix plus chunks, whatever the chunk sizes', async () => {
    const path = join(dir, 'partial');
    const prefix = 5 * 1024 * 1024 + 1;
    writeFileSync(path, data.subarray(0, prefix));
    const threads = begun(path, prefix);
    const { sinks } = threads;
    // Small pieces, pieces larger than a ring slot (split), and enough of them to fill the ring
    // many times over, so push() has to wait for the threads.
    const sizes = [1, 4096, 3 * 1024 * 1024, 65_536, 1024 * 1024];
    let off = prefix;
    const reused = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; off < data.length; i++) {
      const n = Math.min(sizes[i % sizes.length]!, data.length - off);
      // The caller's buffer is overwritten right after push(), as the receive buffer is.
      data.copy(reused, 0, off, off + n);
      expect(sinks.push(reused.subarray(0, n))).toBe(true);
      reused.fill(0);
      off += n;
    }
    await expectAllOfData(threads, path);
  });

  it('keeps reads into reserve() regions without a copy, around the ring many times, with copies pushed while a read is pending', async () => {
    const path = join(dir, 'zero-copy');
    const threads = begun(path, 0);
    const { sinks } = threads;
    // Deterministic "socket": each read fills part of the offered region; its first bytes are
    // framing (skipped, as the parser skips a head or chunk sizes) and the rest is body, handed
    // out in one to three views. Every seventh read, a chunk from outside the ring is pushed after
    // the region was offered and before the read lands in it (the body bytes that came with the
    // head, which the client copies out and feeds later).
    let off = 0;
    let seed = 1;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n) + 1;
    for (let read = 0; off < data.length; read++) {
      const region = sinks.reserve();
      expect(region.buffer).toBeInstanceOf(SharedArrayBuffer);
      if (read % 7 === 3) {
        const n = Math.min(rand(200_000), data.length - off);
        expect(sinks.push(Buffer.from(data.subarray(off, off + n)))).toBe(true);
        off += n;
      }
      const skip = Math.min(rand(100), region.length - 1);
      const n = Math.min(rand(region.length - skip), data.length - off);
      region.fill(0xee, 0, skip);
      region.set(data.subarray(off, off + n), skip);
      const cut = [skip, skip + Math.floor(n / 3), skip + Math.floor((2 * n) / 3), skip + n];
      for (let k = 0; k < 3; k++) expect(sinks.push(region.subarray(cut[k], cut[k + 1]))).toBe(true);
      off += n;
    }
    await expectAllOfData(threads, path);
  });

  it('hands the socket a scratch region after close(), instead of waiting for threads that are gone', async () => {
    const path = join(dir, 'closed');
    const sinks = new SinkThreads(path); // never begun: the threads consume nothing
    for (let i = 0; i < 16; i++) expect(sinks.push(Buffer.alloc(1024 * 1024, i))).toBe(true); // the ring is full
    await sinks.close();
    // Without the check it waited for the threads: 30 s, past this test's time limit.
    const region = sinks.reserve();
    expect(region.buffer).not.toBeInstanceOf(SharedArrayBuffer);
  });

  it('writes and hashes nothing at all: empty file, empty digest', async () => {
    const { sinks, fd } = begun(join(dir, 'none'), 0);
    expect(await sinks.finish()).toEqual({ size: 0, sha256: createHash('sha256').digest('hex') });
    closeSync(fd);
  });

  it('reports a prefix shorter than promised instead of a wrong digest', async () => {
    const path = join(dir, 'short');
    writeFileSync(path, 'abc');
    const { sinks, fd } = begun(path, 10);
    await expect(sinks.finish()).rejects.toMatchObject({ message: expect.stringContaining('ends at byte 3') });
    closeSync(fd);
  });

  it('stops taking bytes once the disk refuses them, and says where', async () => {
    // /dev/full fails every write with ENOSPC.
    const { sinks, fd } = begun('/dev/full', 0);
    const chunk = Buffer.alloc(1024 * 1024, 1);
    let accepted = 0;
    // The ring holds 16 slots: the writer's failure must stop push() well before 64 of them.
    while (accepted < 64 && sinks.push(chunk)) accepted++;
    expect(accepted).toBeLessThan(64);
    expect(sinks.failed).toBe(true);
    const err = await sinks.finish().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect(err).toMatchObject({ syscall: 'write', errno: 'ENOSPC', at: 0 });
    closeSync(fd);
  });
});
