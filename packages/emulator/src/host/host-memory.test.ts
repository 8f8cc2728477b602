import { describe, expect, it } from 'vitest';
import {
  availableMemoryMiB,
  memAvailableMiB,
  type MemoryReaders,
  processMemoryOn,
  vmStatAvailableMiB,
} from './host-memory.js';

const MEMINFO = 'MemTotal:       16303676 kB\nMemFree:         1023456 kB\nMemAvailable:    8388608 kB\n';
const VM_STAT = `Mach Virtual Memory Statistics: (page size of 16384 bytes)
Pages free:                               10000.
Pages active:                            300000.
Pages inactive:                           50000.
Pages speculative:                         4000.
`;

function readers(files: Record<string, string>, commands: Record<string, string>): MemoryReaders & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    readText: (path) => (calls.push(`read ${path}`), files[path]),
    run: (file, args) => (calls.push(`run ${[file, ...args].join(' ')}`), commands[[file, ...args].join(' ')]),
  };
}

describe('host memory', () => {
  it('parses MemAvailable in MiB, undefined without it', () => {
    expect(memAvailableMiB(MEMINFO)).toBe(8192);
    expect(memAvailableMiB('MemTotal: 1 kB\n')).toBeUndefined();
  });

  it('adds free, inactive and speculative pages of vm_stat at its page size', () => {
    expect(vmStatAvailableMiB(VM_STAT)).toBe(Math.floor((64000 * 16384) / 1048576));
    expect(vmStatAvailableMiB('Pages free: 1.\n')).toBeUndefined();
  });

  it('reads /proc/meminfo on Linux and vm_stat on macOS, nothing elsewhere', () => {
    const r = readers({ '/proc/meminfo': MEMINFO }, { vm_stat: VM_STAT });
    expect(availableMemoryMiB('linux', r)).toBe(8192);
    expect(availableMemoryMiB('darwin', r)).toBe(1000);
    expect(availableMemoryMiB('win32', r)).toBeUndefined();
    expect(r.calls).toEqual(['read /proc/meminfo', 'run vm_stat']);
    expect(availableMemoryMiB('linux', readers({}, {}))).toBeUndefined();
  });

  it("reads QEMU's RSS and PSS from smaps_rollup on Linux, RSS from ps on macOS", () => {
    const r = readers(
      { '/proc/42/smaps_rollup': 'Rss:              409600 kB\nPss:              204800 kB\n' },
      { 'ps -o rss= -p 42': '  307200\n' },
    );
    expect(processMemoryOn(42, 'linux', r)).toEqual({ rssKiB: 409600, pssKiB: 204800 });
    expect(processMemoryOn(42, 'darwin', r)).toEqual({ rssKiB: 307200, pssKiB: undefined });
    expect(processMemoryOn(43, 'darwin', r)).toBeUndefined();
  });
});
