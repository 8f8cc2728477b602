import { join } from 'node:path';
import { readJsonFile, type JsonSchema, writeFileAtomic } from '@stack/internal';
import { z } from 'zod';
import type { EmulatorConfig } from '../config/resolve-config.js';

/** images/digests.json: an image's sha256, under `<absolute path>|<size>|<mtimeMs>|<inode>`. */
const imageDigestsSchema = z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/, 'not a sha256 in hex'));

/** images/boot-modes.json: whether a disk boots with BIOS boot code or UEFI only, under its image's sha256. */
const bootModesSchema = z.record(z.string(), z.enum(['bios', 'uefi']));

/** One of the caches images/ keeps: where it is, what it holds, and what it says in a warning. */
export interface ImageCache<T> {
  file: string;
  schema: JsonSchema<Record<string, T>>;
  /** What the file is, for a warning: "image digest cache". */
  what: string;
}

export const digestsCache = (config: EmulatorConfig): ImageCache<string> => ({
  file: config.paths.imageDigests,
  schema: imageDigestsSchema,
  what: 'image digest cache',
});

export const bootModesCache = (config: EmulatorConfig): ImageCache<'bios' | 'uefi'> => ({
  file: join(config.paths.images, 'boot-modes.json'),
  schema: bootModesSchema,
  what: 'boot mode cache',
});

/**
 * A cache's entries. Both caches are rebuilt on demand (a digest is hashed again, a boot sector read
 * again), so a file that does not parse or validate, or cannot be read, is never trusted nor fatal:
 * it is told (`warn`), read as empty, and replaced whole by the next write. Before, a wrong-shaped
 * file was used as-is (a non-digest taken for the image's sha256) or crashed the start (`null`).
 */
export async function readImageCache<T>(
  cache: ImageCache<T>,
  warn: ((text: string) => void) | undefined,
): Promise<Record<string, T>> {
  const told = (problem: string) => {
    warn?.(`the ${cache.what} ${cache.file} ${problem}: it is rebuilt, nothing to do`);
    return {};
  };
  try {
    const r = await readJsonFile(cache.file, cache.schema);
    return r.kind === 'ok' ? r.value : r.kind === 'missing' ? {} : told(`is not valid (${r.reason})`);
  } catch (e) {
    return told(`cannot be read (${(e as Error).message})`);
  }
}

/** Writes a cache's entries whole (temp, fsync, rename). */
export async function writeImageCache<T>(cache: ImageCache<T>, entries: Record<string, T>): Promise<void> {
  await writeFileAtomic(cache.file, `${JSON.stringify(entries, null, 2)}\n`);
}
