import { realpath, stat } from 'node:fs/promises';
import { readJsonFile, writeFileAtomic } from '@stack/internal';
import which from 'which';
import { z } from 'zod';

/**
 * What one QEMU binary printed for the three probe runs. The cache keeps these texts, not what was
 * read from them, so a newer reader of the same binary reads them afresh.
 */
export interface ProbeOutputs {
  /** `--version` */
  version: string;
  /** `-accel help` */
  accelHelp: string;
  /** `-object help` */
  objectHelp: string;
}

const outputsSchema = z.object({ version: z.string(), accelHelp: z.string(), objectHelp: z.string() });
const entrySchema = z
  .object({
    identity: z.string(),
    outputs: outputsSchema,
    probedAt: z.string(),
    /** `-device help`, asked only when a start shares a directory (see qemuHasDevice). */
    deviceHelp: z.string().optional(),
  })
  .loose();
type Entry = z.infer<typeof entrySchema>;
const cacheSchema = z.array(entrySchema);

/** Binaries remembered at most (x86_64 and aarch64, a second QEMU on another PATH, upgrades). */
const MAX_ENTRIES = 8;

/** A QEMU binary found on a PATH, and what tells it apart from any other. */
export interface LocatedBinary {
  /** The file found (through PATH; a path given as such is used as it is). */
  file: string;
  /**
   * Its resolved path (through symlinks, as Homebrew's are) with the file's device, inode, size,
   * modification and change times. An upgrade replaces the file (a new inode, new times), so it is
   * probed again.
   */
  identity: string;
}

/**
 * Finds `binary` as a spawn would (an executable file on `path`) and identifies it. Probing `file`
 * itself, not the name, keeps what is cached and the binary it is cached under the same file.
 * Undefined when it cannot be found (the probe then runs on the name, and says why it failed).
 */
export async function locateBinary(
  binary: string,
  options: { path?: string } = {},
): Promise<LocatedBinary | undefined> {
  const file = binary.includes('/')
    ? binary
    : await which(binary, { nothrow: true, ...(options.path !== undefined ? { path: options.path } : {}) });
  if (!file) return undefined;
  try {
    const real = await realpath(file);
    const st = await stat(real);
    return { file, identity: `${real}|${st.dev}:${st.ino}|${st.size}|${st.mtimeMs}|${st.ctimeMs}` };
  } catch {
    return undefined;
  }
}

/** Every entry of the cache; none when it is missing or not a valid cache (it is rebuilt). */
async function readEntries(file: string): Promise<Entry[]> {
  const r = await readJsonFile(file, cacheSchema).catch(() => undefined);
  return r?.kind === 'ok' ? r.value : [];
}

/** The entry remembered for `identity`: its probe's outputs, and `-device help` once asked. */
export async function readProbeEntry(
  file: string,
  identity: string,
): Promise<{ outputs: ProbeOutputs; deviceHelp?: string | undefined } | undefined> {
  return (await readEntries(file)).find((e) => e.identity === identity);
}

/** Adds `-device help` to the entry of `identity`; nothing when the binary has no entry (not probed through the cache). */
export async function writeDeviceHelp(file: string, identity: string, deviceHelp: string): Promise<void> {
  const all = await readEntries(file);
  const entry = all.find((e) => e.identity === identity);
  if (!entry) return;
  await writeFileAtomic(
    file,
    `${JSON.stringify(
      all.map((e) => (e === entry ? { ...e, deviceHelp } : e)),
      null,
      2,
    )}\n`,
  );
}

/**
 * Remembers `outputs` for `identity` (replacing its entry; the oldest go past {@link MAX_ENTRIES}):
 * temp file, fsync, rename. A cache that cannot be written costs the next start its probe, nothing else.
 */
export async function writeProbeCache(
  file: string,
  identity: string,
  outputs: ProbeOutputs,
  now: () => Date = () => new Date(),
): Promise<void> {
  const kept = (await readEntries(file)).filter((e) => e.identity !== identity);
  const all = [...kept, { identity, outputs, probedAt: now().toISOString() }].slice(-MAX_ENTRIES);
  await writeFileAtomic(file, `${JSON.stringify(all, null, 2)}\n`);
}
