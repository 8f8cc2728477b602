/**
 * A process's memory from Linux's /proc/<pid>/smaps_rollup (4.14+): the totals of its mappings, in
 * KiB, that tell the pages it shares with other processes (a template's RAM file in the page cache,
 * mapped privately by every QEMU that resumed it) from the pages only it holds.
 */
export interface SmapsRollup {
  /** Resident: shared pages count whole in every process that maps them. */
  rssKiB: number;
  /** Proportional: a page shared by n processes counts 1/n in each, so summing over processes counts it once. */
  pssKiB: number;
  /** Of the PSS: anonymous pages (a guest page QEMU wrote: copied out of the template). Absent before Linux 5.10. */
  pssAnonKiB: number | undefined;
  /** Of the PSS: file pages (the template's RAM file, QEMU's binary and libraries). Absent before Linux 5.10. */
  pssFileKiB: number | undefined;
  /** Of the PSS: shared memory (memfd, tmpfs). Absent before Linux 5.10. */
  pssShmemKiB: number | undefined;
  sharedCleanKiB: number;
  sharedDirtyKiB: number;
  privateCleanKiB: number;
  privateDirtyKiB: number;
}

/** What reading one process's rollup gave: its figures, or why there are none. */
export type RollupReading = { kind: 'ok'; rollup: SmapsRollup } | { kind: 'unsupported'; reason: string };

/**
 * Parses smaps_rollup's text (its `[rollup]` header line, then `Name:   <n> kB` lines; see the
 * kernel's Documentation/filesystems/proc.rst). Undefined when a field every kernel with the file
 * writes (Rss, Pss, Shared_/Private_ Clean/Dirty) is missing: the text is not a rollup.
 */
export function parseSmapsRollup(text: string): SmapsRollup | undefined {
  const fields = new Map<string, number>();
  for (const m of text.matchAll(/^(\w+):\s+(\d+) kB$/gm)) fields.set(m[1]!, Number(m[2]));
  const need = ['Rss', 'Pss', 'Shared_Clean', 'Shared_Dirty', 'Private_Clean', 'Private_Dirty'];
  if (need.some((k) => !fields.has(k))) return undefined;
  return {
    rssKiB: fields.get('Rss')!,
    pssKiB: fields.get('Pss')!,
    pssAnonKiB: fields.get('Pss_Anon'),
    pssFileKiB: fields.get('Pss_File'),
    pssShmemKiB: fields.get('Pss_Shmem'),
    sharedCleanKiB: fields.get('Shared_Clean')!,
    sharedDirtyKiB: fields.get('Shared_Dirty')!,
    privateCleanKiB: fields.get('Private_Clean')!,
    privateDirtyKiB: fields.get('Private_Dirty')!,
  };
}

/**
 * The rollup of `pid` on `platform`, read through `readText` (a file's text, undefined when it cannot
 * be read). Other platforms have no PSS (macOS's ps gives RSS only): `unsupported`, with the reason.
 */
export function readSmapsRollup(
  pid: number,
  platform: NodeJS.Platform,
  readText: (path: string) => string | undefined,
): RollupReading {
  if (platform !== 'linux')
    return {
      kind: 'unsupported',
      reason: `PSS and its shared/private parts come from Linux's /proc/<pid>/smaps_rollup; this host is ${platform}`,
    };
  const path = `/proc/${pid}/smaps_rollup`;
  const text = readText(path);
  if (text === undefined)
    return {
      kind: 'unsupported',
      reason: `${path} could not be read (the process is gone, or Linux is older than 4.14)`,
    };
  const rollup = parseSmapsRollup(text);
  return rollup ? { kind: 'ok', rollup } : { kind: 'unsupported', reason: `${path} has no Rss/Pss totals` };
}
