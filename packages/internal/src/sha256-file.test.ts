import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256File } from './sha256-file.js';

describe('sha256File', () => {
  it('hashes a file (also across its 4 MiB reads)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sha256-file-'));
    writeFileSync(join(dir, 'abc'), 'abc');
    expect(await sha256File(join(dir, 'abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    writeFileSync(join(dir, 'big'), Buffer.alloc((4 << 20) + 3, 'a'));
    const { createHash } = await import('node:crypto');
    expect(await sha256File(join(dir, 'big'))).toBe(
      createHash('sha256')
        .update(Buffer.alloc((4 << 20) + 3, 'a'))
        .digest('hex'),
    );
  });

  it('stops when the signal aborts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sha256-file-'));
    writeFileSync(join(dir, 'f'), 'x');
    await expect(sha256File(join(dir, 'f'), AbortSignal.abort())).rejects.toThrow(/abort/i);
  });
});
