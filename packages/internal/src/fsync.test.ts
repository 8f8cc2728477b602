import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fsyncDirectory, fsyncFile } from './fsync.js';

describe('fsyncFile / fsyncDirectory', () => {
  it('sync a file and a directory, and fail (never silently) on what is not there', async () => {
    const d = mkdtempSync(join(tmpdir(), 'fsync-'));
    writeFileSync(join(d, 'f'), 'data');
    await fsyncFile(join(d, 'f'));
    await fsyncDirectory(d);
    await expect(fsyncFile(join(d, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fsyncDirectory(join(d, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
