import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsyncDirectory, fsyncFile, writeFileAtomic } from '@stack/internal';
import { describe, expect, it } from 'vitest';
import { install, type InstallIo } from './install.js';

/** The real operations, each recorded as it starts, with what it is applied to. */
function recording(): { calls: string[]; ops: InstallIo } {
  const calls: string[] = [];
  const ops: InstallIo = {
    fsyncFile: (p) => (calls.push(`fsyncFile ${p}`), fsyncFile(p)),
    rename: (a, b) => (calls.push(`rename ${a} -> ${b}`), rename(a, b)),
    fsyncDirectory: (d) => (calls.push(`fsyncDirectory ${d}`), fsyncDirectory(d)),
    writeFileAtomic: (p, data) => (calls.push(`writeFileAtomic ${p}`), writeFileAtomic(p, data)),
  };
  return { calls, ops };
}

describe('install', () => {
  it('syncs the data before the rename and the directory after it, then writes the sidecar atomically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'install-'));
    const part = join(dir, 'img.qcow2.part');
    const dest = join(dir, 'img.qcow2');
    writeFileSync(part, 'new image');
    writeFileSync(dest, 'old image');
    const { calls, ops } = recording();
    await install(part, dest, 'ab'.repeat(32), ops);
    expect(calls).toEqual([
      `fsyncFile ${part}`,
      `rename ${part} -> ${dest}`,
      `fsyncDirectory ${dir}`,
      `writeFileAtomic ${dest}.sha256`,
    ]);
    expect(readFileSync(dest, 'utf8')).toBe('new image');
    expect(readFileSync(`${dest}.sha256`, 'utf8')).toBe(`${'ab'.repeat(32)}  img.qcow2\n`);
    expect(existsSync(part)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['img.qcow2', 'img.qcow2.sha256']);
  });

  it('leaves the old image named when the data cannot be synced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'install-'));
    const dest = join(dir, 'img.qcow2');
    writeFileSync(dest, 'old image');
    const { ops } = recording();
    const failing = { ...ops, fsyncFile: () => Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' })) };
    writeFileSync(`${dest}.part`, 'new');
    await expect(install(`${dest}.part`, dest, 'ab'.repeat(32), failing)).rejects.toMatchObject({ code: 'EIO' });
    expect(readFileSync(dest, 'utf8')).toBe('old image');
  });
});
