import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DurableRenameOps, fsRenameOps, renameDurably } from './durable-rename.js';

/** The real file system, with every call written down in order. */
function recorder(): { ops: DurableRenameOps; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    ops: {
      sync: async (p) => {
        calls.push(`sync ${p}`);
        await fsRenameOps.sync(p);
      },
      rename: async (a, b) => {
        calls.push(`rename ${a} -> ${b}`);
        await fsRenameOps.rename(a, b);
      },
      entries: (p) => fsRenameOps.entries(p),
    },
  };
}

describe('renameDurably', () => {
  it('a file: its data synced before it is named, its new directory synced after', async () => {
    const d = mkdtempSync(join(tmpdir(), 'durable-'));
    mkdirSync(join(d, 'cache'));
    writeFileSync(join(d, 'image.tmp'), 'qcow2');
    const { ops, calls } = recorder();
    await renameDurably(join(d, 'image.tmp'), join(d, 'cache', 'image.qcow2'), { ops });
    expect(calls).toEqual([
      `sync ${d}/image.tmp`,
      `rename ${d}/image.tmp -> ${d}/cache/image.qcow2`,
      `sync ${d}/cache`,
    ]);
    expect(readFileSync(join(d, 'cache', 'image.qcow2'), 'utf8')).toBe('qcow2');
  });

  it('a directory: each entry, then the directory, then the rename and its parent', async () => {
    const d = mkdtempSync(join(tmpdir(), 'durable-'));
    mkdirSync(join(d, 'boot.tmp'));
    writeFileSync(join(d, 'boot.tmp', 'vmlinuz'), 'k');
    writeFileSync(join(d, 'boot.tmp', 'boot.json'), '{}');
    const { ops, calls } = recorder();
    await renameDurably(join(d, 'boot.tmp'), join(d, 'image.boot'), { ops });
    expect(calls.slice(0, 2).sort()).toEqual([`sync ${d}/boot.tmp/boot.json`, `sync ${d}/boot.tmp/vmlinuz`]);
    expect(calls.slice(2)).toEqual([`sync ${d}/boot.tmp`, `rename ${d}/boot.tmp -> ${d}/image.boot`, `sync ${d}`]);
    expect(readdirSync(join(d, 'image.boot')).sort()).toEqual(['boot.json', 'vmlinuz']);
  });

  it('names nothing when the data cannot be synced', async () => {
    const d = mkdtempSync(join(tmpdir(), 'durable-'));
    writeFileSync(join(d, 'a.tmp'), 'x');
    const ops: DurableRenameOps = {
      ...fsRenameOps,
      sync: () => Promise.reject(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' })),
    };
    await expect(renameDurably(join(d, 'a.tmp'), join(d, 'a'), { ops })).rejects.toThrow('EIO');
    expect(readdirSync(d)).toEqual(['a.tmp']);
  });
});
