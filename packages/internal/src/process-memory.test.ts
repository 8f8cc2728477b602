import { describe, expect, it } from 'vitest';
import { processMemory } from './process-memory.js';

const rollup = `55d0c0000000-7ffc00000000 ---p 00000000 00:00 0  [rollup]
Rss:              297100 kB
Pss:              279332 kB
Pss_Dirty:        139844 kB
`;

describe('processMemory', () => {
  it('reads Rss and Pss from smaps_rollup on Linux', () => {
    const m = processMemory(42, {
      platform: 'linux',
      readProc: (p) => (p === '/proc/42/smaps_rollup' ? rollup : undefined),
      ps: () => {
        throw new Error('ps must not run where /proc answers');
      },
    });
    expect(m).toEqual({ rssKiB: 297100, pssKiB: 279332 });
  });

  it('asks ps for the RSS on macOS (no PSS there), and says nothing of a process that is gone', () => {
    const seen: string[][] = [];
    const ps = (args: string[]) => (seen.push(args), '  123456\n');
    expect(processMemory(42, { platform: 'darwin', ps })).toEqual({ rssKiB: 123456, pssKiB: undefined });
    expect(seen).toEqual([['-o', 'rss=', '-p', '42']]);
    expect(processMemory(42, { platform: 'darwin', ps: () => undefined })).toBeUndefined();
    expect(processMemory(42, { platform: 'linux', readProc: () => undefined, ps: () => '' })).toBeUndefined();
    expect(processMemory(-1)).toBeUndefined();
  });
});
