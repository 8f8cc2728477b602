import { type IdentityOptions, psDefault, readProcDefault } from './process-identity.js';

/** A process's memory: resident (RSS), and its proportional share (PSS, Linux only). */
export interface ProcessMemory {
  rssKiB: number;
  /** Pages shared with other processes (a template's page cache) count by share: Linux smaps_rollup. */
  pssKiB: number | undefined;
}

/**
 * The memory of `pid`: /proc/<pid>/smaps_rollup on Linux (Rss and Pss), ps(1) `rss` elsewhere (macOS
 * has no PSS). Undefined when the process is gone or unreadable.
 */
export function processMemory(pid: number, options: IdentityOptions = {}): ProcessMemory | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if ((options.platform ?? process.platform) === 'linux') {
    const text = (options.readProc ?? readProcDefault)(`/proc/${pid}/smaps_rollup`);
    if (text !== undefined) {
      const field = (name: string) => {
        const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
        return m ? Number(m[1]) : undefined;
      };
      const rss = field('Rss');
      return rss === undefined ? undefined : { rssKiB: rss, pssKiB: field('Pss') };
    }
  }
  const out = (options.ps ?? psDefault)(['-o', 'rss=', '-p', String(pid)])?.trim();
  return out && /^\d+$/.test(out) ? { rssKiB: Number(out), pssKiB: undefined } : undefined;
}
