import { describe, expect, it } from 'vitest';
import { parseSmapsRollup, readSmapsRollup } from './smaps-rollup.js';

// `cat /proc/self/smaps_rollup` on the development machine (Linux 6.18), as captured.
const LINUX_6_18 = `55aa4bad0000-7ffc26592000 ---p 00000000 00:00 0                          [rollup]
Rss:                1748 kB
Pss:                 234 kB
Pss_Dirty:           112 kB
Pss_Anon:            112 kB
Pss_File:            122 kB
Pss_Shmem:             0 kB
Shared_Clean:       1596 kB
Shared_Dirty:          0 kB
Private_Clean:        40 kB
Private_Dirty:       112 kB
Referenced:         1748 kB
Anonymous:           112 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
`;

// The format of Linux 4.14-5.9 (Documentation/filesystems/proc.txt then): no Pss_Anon/File/Shmem.
const LINUX_4_14 = `00400000-7fff5d7ff000 ---p 00000000 00:00 0                          [rollup]
Rss:              884356 kB
Pss:              385131 kB
Shared_Clean:     535340 kB
Shared_Dirty:          0 kB
Private_Clean:     12400 kB
Private_Dirty:    336616 kB
Referenced:       884356 kB
Anonymous:        336616 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
`;

describe('parseSmapsRollup', () => {
  it('reads the totals of a current kernel, PSS split by kind', () => {
    expect(parseSmapsRollup(LINUX_6_18)).toEqual({
      rssKiB: 1748,
      pssKiB: 234,
      pssAnonKiB: 112,
      pssFileKiB: 122,
      pssShmemKiB: 0,
      sharedCleanKiB: 1596,
      sharedDirtyKiB: 0,
      privateCleanKiB: 40,
      privateDirtyKiB: 112,
    });
  });

  it('takes Pss, not Pss_Dirty or SwapPss, and leaves the split out on kernels before it', () => {
    expect(parseSmapsRollup(LINUX_4_14)).toEqual({
      rssKiB: 884356,
      pssKiB: 385131,
      pssAnonKiB: undefined,
      pssFileKiB: undefined,
      pssShmemKiB: undefined,
      sharedCleanKiB: 535340,
      sharedDirtyKiB: 0,
      privateCleanKiB: 12400,
      privateDirtyKiB: 336616,
    });
  });

  it('is undefined for a text that is not a rollup (a field every kernel writes is missing)', () => {
    expect(parseSmapsRollup('')).toBeUndefined();
    expect(parseSmapsRollup(LINUX_6_18.replace(/^Private_Dirty:.*\n/m, ''))).toBeUndefined();
    expect(parseSmapsRollup('Rss: 12 MB\nPss: 3 MB\n')).toBeUndefined();
  });
});

describe('readSmapsRollup', () => {
  const reads: string[] = [];
  const readText = (path: string) => (reads.push(path), path === '/proc/42/smaps_rollup' ? LINUX_6_18 : undefined);

  it("reads the process's own file on Linux", () => {
    const r = readSmapsRollup(42, 'linux', readText);
    expect(r).toMatchObject({ kind: 'ok', rollup: { pssKiB: 234, rssKiB: 1748 } });
    expect(reads).toContain('/proc/42/smaps_rollup');
  });

  it('is unsupported, with the reason, elsewhere (the platform given, nothing read)', () => {
    reads.length = 0;
    const r = readSmapsRollup(42, 'darwin', readText);
    expect(r).toEqual({ kind: 'unsupported', reason: expect.stringContaining('this host is darwin') });
    expect(reads).toEqual([]);
  });

  it('says why when the file cannot be read or is not a rollup', () => {
    expect(readSmapsRollup(43, 'linux', readText)).toEqual({
      kind: 'unsupported',
      reason: expect.stringContaining('/proc/43/smaps_rollup could not be read'),
    });
    expect(readSmapsRollup(44, 'linux', () => 'garbage')).toEqual({
      kind: 'unsupported',
      reason: '/proc/44/smaps_rollup has no Rss/Pss totals',
    });
  });
});
