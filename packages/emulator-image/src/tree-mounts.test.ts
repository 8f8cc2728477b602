import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BuildSeams } from './build-seams.js';
import { mountPointsUnder, refuseIfMounted, unmountAllUnder } from './tree-mounts.js';

const line = (id: number, point: string) => `${id} 24 0:${id} / ${point} rw - proc proc rw`;

function tree(): { root: string; log: string } {
  const d = realpathSync(mkdtempSync(join(tmpdir(), 'tree-mounts-')));
  mkdirSync(join(d, 'rootfs/proc'), { recursive: true });
  writeFileSync(join(d, 'build.log'), '');
  return { root: join(d, 'rootfs'), log: join(d, 'build.log') };
}

describe('unmountAllUnder', () => {
  it('umounts again while the table still lists a mount (the proc a stack had beneath the first)', async () => {
    const { root, log } = tree();
    const tables = [line(44, `${root}/proc`), line(44, `${root}/proc`), ''];
    const commands: string[] = [];
    const seams: BuildSeams = {
      readMountInfo: () => tables.shift() ?? '',
      run: async (cmd, args) => (commands.push(`${cmd} ${args.join(' ')}`), ''),
    };
    await unmountAllUnder(root, seams, log);
    expect(commands).toEqual([`umount -l ${root}/proc`, `umount -l ${root}/proc`]);
    expect(tables).toEqual([]);
  });

  it('gives up after a few rounds naming what remains, with the last umount failure', async () => {
    const { root, log } = tree();
    let umounts = 0;
    const seams: BuildSeams = {
      readMountInfo: () => `${line(44, `${root}/proc`)}\n${line(45, `${root}/proc`)}\n`,
      run: async () => {
        umounts++;
        throw new Error('umount failed (32):\numount: target is busy');
      },
    };
    const err = await unmountAllUnder(root, seams, log).catch((e: Error) => e);
    expect(umounts).toBe(8);
    expect((err as { code?: string }).code).toBe('IMAGE_BUILD_FAILED');
    expect((err as Error).message).toContain(`2 mount(s) remain under ${root} after 4 rounds of umount -l`);
    expect((err as Error).message).toContain(`: ${root}/proc, ${root}/proc.`);
    expect((err as Error).message).toContain('the last failed: umount failed (32):');
    expect((err as Error).message).toContain('never renamed or removed');
  });

  it('runs no umount on a clean tree', async () => {
    const { root, log } = tree();
    const commands: string[] = [];
    await unmountAllUnder(
      root,
      { readMountInfo: () => line(44, '/proc'), run: async (c) => (commands.push(c), '') },
      log,
    );
    expect(commands).toEqual([]);
  });
});

describe('mountPointsUnder and refuseIfMounted', () => {
  it('matches the table through a symlink to the tree (the table names resolved paths)', () => {
    const { root } = tree();
    const link = join(root, '..', 'link');
    symlinkSync(root, link);
    expect(mountPointsUnder(link, () => line(44, `${root}/proc`))).toEqual([`${root}/proc`]);
  });

  it('has nothing under a path that does not exist', () => {
    expect(
      mountPointsUnder('/nonexistent/stack-emulator/x', () => line(44, '/nonexistent/stack-emulator/x/proc')),
    ).toEqual([]);
  });

  it('refuses with the verdict and the mount points', () => {
    const { root } = tree();
    expect(() => refuseIfMounted(root, () => line(44, `${root}/proc`), 'not removing it')).toThrow(
      `not removing it: 1 mount(s) remain under ${root}: ${root}/proc. As root, unmount each`,
    );
    expect(() => refuseIfMounted(root, () => line(44, `${root}2/proc`), 'not removing it')).not.toThrow();
  });
});
