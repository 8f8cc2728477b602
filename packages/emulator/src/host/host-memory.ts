import { readFileSync } from 'node:fs';
import { type ProcessMemory, processMemory, runProcessSync } from '@stack/internal';

/** How the memory readers reach the host: a file (Linux /proc), a command's stdout (macOS). */
export interface MemoryReaders {
  /** A file's text; undefined when unreadable. */
  readText(path: string): string | undefined;
  /** A command's stdout; undefined when it failed. */
  run(file: string, args: string[]): string | undefined;
}

/** The real readers: fs.readFileSync and a 3 s runProcessSync. */
export const realMemoryReaders: MemoryReaders = {
  readText: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  run: (file, args) => {
    try {
      return runProcessSync(file, args, { timeout: 3000 }).stdout;
    } catch {
      return undefined;
    }
  },
};

/** MiB the kernel can give without swapping: /proc/meminfo's MemAvailable (kB). */
export function memAvailableMiB(meminfo: string): number | undefined {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(meminfo);
  return m ? Math.floor(Number(m[1]) / 1024) : undefined;
}

/**
 * MiB available on macOS from vm_stat: free, inactive and speculative pages (what the kernel hands
 * out before it compresses or swaps), times the page size its first line states.
 */
export function vmStatAvailableMiB(vmStat: string): number | undefined {
  const pageSize = /page size of (\d+) bytes/.exec(vmStat)?.[1];
  const pages = (name: string) => {
    const m = new RegExp(`^Pages ${name}:\\s+(\\d+)\\.`, 'm').exec(vmStat);
    return m ? Number(m[1]) : undefined;
  };
  const free = pages('free');
  if (!pageSize || free === undefined) return undefined;
  const total = free + (pages('inactive') ?? 0) + (pages('speculative') ?? 0);
  return Math.floor((total * Number(pageSize)) / 1048576);
}

/** The host's available memory in MiB on `platform`; undefined when it cannot be told. */
export function availableMemoryMiB(platform: NodeJS.Platform, readers: MemoryReaders): number | undefined {
  if (platform === 'linux') {
    const text = readers.readText('/proc/meminfo');
    return text === undefined ? undefined : memAvailableMiB(text);
  }
  if (platform === 'darwin') {
    const text = readers.run('vm_stat', []);
    return text === undefined ? undefined : vmStatAvailableMiB(text);
  }
  return undefined;
}

/**
 * A process's memory on `platform`: Linux /proc/<pid>/smaps_rollup (RSS and PSS), else `ps -o rss=`
 * (RSS only). The parsing is @stack/internal's processMemory; this passes it the readers.
 */
export function processMemoryOn(
  pid: number,
  platform: NodeJS.Platform,
  readers: MemoryReaders,
): ProcessMemory | undefined {
  return processMemory(pid, {
    platform,
    readProc: (path) => readers.readText(path),
    ps: (args) => readers.run('ps', args),
  });
}
