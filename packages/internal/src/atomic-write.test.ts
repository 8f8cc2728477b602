import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic-write.js';

const dir = () => mkdtempSync(join(tmpdir(), 'atomic-'));

describe('writeFileAtomic', () => {
  it('replaces the file and leaves no temp file behind', async () => {
    const d = dir();
    const p = join(d, 'state.json');
    writeFileSync(p, 'old');
    await writeFileAtomic(p, 'new');
    expect(readFileSync(p, 'utf8')).toBe('new');
    expect(readdirSync(d)).toEqual(['state.json']);
  });

  it('creates the file with the requested mode', async () => {
    const d = dir();
    const p = join(d, 'internal-pck');
    await writeFileAtomic(p, 'x', { mode: 0o600 });
    expect(statSync(p).mode & 0o777).toBe(0o600);
  });

  it('creates a missing parent with dirMode, and writes without fsync when asked', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'atomic-')), 'private', 'run');
    await writeFileAtomic(join(dir, 'key'), 'k', { mode: 0o600, dirMode: 0o700, fsync: false });
    expect(readFileSync(join(dir, 'key'), 'utf8')).toBe('k');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'key')).mode & 0o777).toBe(0o600);
  });

  it('keeps the old file intact when the source stream fails midway', async () => {
    const d = dir();
    const p = join(d, 'image.qcow2');
    writeFileSync(p, 'precious');
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1024, 1));
        this.destroy(new Error('network dropped'));
      },
    });
    await expect(writeFileAtomic(p, failing)).rejects.toThrow('network dropped');
    expect(readFileSync(p, 'utf8')).toBe('precious');
    expect(readdirSync(d)).toEqual(['image.qcow2']);
  });
});
