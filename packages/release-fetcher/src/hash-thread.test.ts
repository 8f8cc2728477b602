import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HashThread } from './hash-thread.js';

describe('HashThread', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hash-'));
  const data = randomBytes(20 * 1024 * 1024 + 3);
  const expected = createHash('sha256').update(data).digest('hex');

  it('gives the sha256 of a resumed prefix plus every pushed chunk, whatever the chunk sizes', async () => {
    const path = join(dir, 'partial');
    const prefix = 5 * 1024 * 1024 + 1;
    writeFileSync(path, data.subarray(0, prefix));
    const h = new HashThread(path, prefix);
    // Small pieces, pieces larger than a ring slot (split), and enough of them to fill the ring
    // many times over, so push() has to wait for the thread.
    const sizes = [1, 4096, 3 * 1024 * 1024, 65_536, 1024 * 1024];
    let off = prefix;
    const reused = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; off < data.length; i++) {
      const n = Math.min(sizes[i % sizes.length]!, data.length - off);
      // The caller's buffer is overwritten right after push(), as the receive buffer is.
      data.copy(reused, 0, off, off + n);
      h.push(reused.subarray(0, n));
      reused.fill(0);
      off += n;
    }
    expect(await h.digest()).toBe(expected);
  });

  it('hashes nothing at all to the empty digest', async () => {
    expect(await new HashThread(join(dir, 'none'), 0).digest()).toBe(createHash('sha256').digest('hex'));
  });

  it('reports a prefix shorter than promised instead of a wrong digest', async () => {
    const path = join(dir, 'short');
    writeFileSync(path, 'abc');
    await expect(new HashThread(path, 10).digest()).rejects.toMatchObject({ code: 'FETCH_NETWORK', message: expect.stringContaining('ends at byte 3') });
  });
});
