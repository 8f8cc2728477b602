// Pure parsers for finding what an image's firmware would boot: the EFI system partition in its GPT,
// and the systemd-boot loader entry on that partition.

/** EFI system partition type C12A7328-F81F-11D2-BA4B-00A0C93EC93B as stored on disk (UEFI 2.10 §5.3: the first three fields little-endian). */
const ESP_TYPE = Buffer.from('28732ac11ff8d211ba4b00a0c93ec93b', 'hex');
const SECTOR = 512;

export interface PartitionExtent {
  /** Byte offset of the partition in the disk. */
  offset: number;
  /** Size in bytes. */
  size: number;
}

/**
 * Finds the EFI system partition in a GPT disk, given the disk's first sectors (protective MBR, GPT
 * header at LBA 1, and the partition entries it points to). Undefined when there is no GPT or no ESP.
 */
export function findEspInGpt(head: Buffer): PartitionExtent | undefined {
  if (head.length < 2 * SECTOR || head.toString('latin1', SECTOR, SECTOR + 8) !== 'EFI PART') return undefined;
  const entriesLba = Number(head.readBigUInt64LE(SECTOR + 72));
  const count = head.readUInt32LE(SECTOR + 80);
  const entrySize = head.readUInt32LE(SECTOR + 84);
  if (entrySize < 128) return undefined;
  for (let i = 0; i < count; i++) {
    const at = entriesLba * SECTOR + i * entrySize;
    if (at + 128 > head.length) break;
    if (!head.subarray(at, at + 16).equals(ESP_TYPE)) continue;
    const first = Number(head.readBigUInt64LE(at + 32));
    const last = Number(head.readBigUInt64LE(at + 40));
    if (last < first) return undefined;
    return { offset: first * SECTOR, size: (last - first + 1) * SECTOR };
  }
  return undefined;
}

/** Bytes of the disk head `findEspInGpt` needs: MBR, header and 128 entries of 128 bytes (the usual GPT). */
export const GPT_HEAD_BYTES = 34 * SECTOR;

export interface LoaderEntry {
  /** Path of the kernel on the ESP (`linux`). */
  linux: string;
  /** Path of the initrd on the ESP (`initrd`), if any. */
  initrd?: string;
  /** The kernel command line (`options`, joined). */
  options: string;
}

/**
 * Parses a Boot Loader Specification type #1 entry (`/loader/entries/*.conf`): `key value` lines,
 * `#` comments; several `options` lines are joined with spaces, as systemd-boot does.
 */
export function parseLoaderEntry(text: string): LoaderEntry | undefined {
  let linux: string | undefined;
  let initrd: string | undefined;
  const options: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'linux') linux = value.trim();
    else if (key === 'initrd') initrd ??= value.trim();
    else if (key === 'options') options.push(value.trim());
  }
  return linux ? { linux, initrd, options: options.join(' ') } : undefined;
}

/** The `default` entry of `/loader/loader.conf` (a file name, with or without `.conf`), if it names one. */
export function defaultEntryName(loaderConf: string): string | undefined {
  const m = /^\s*default\s+(\S+)\s*$/m.exec(loaderConf);
  if (!m || /[*?]/.test(m[1]!)) return undefined;
  return m[1]!.endsWith('.conf') ? m[1] : `${m[1]}.conf`;
}
