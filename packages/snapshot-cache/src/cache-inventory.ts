import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { CompatibilityKey } from './key.js';
import { entryOf, readSnapshotMeta, type SnapshotEntry } from './snapshot-meta.js';

export const QUARANTINE = 'quarantine';
export const REASON = 'reason.json';
export const LAST_USED = 'last-used.json';
export const ENTRY_NAME = /^[0-9a-f]{32}$/;
export const QUARANTINED_NAME = /^([0-9a-f]{32})-\d+$/;

/** One directory of the cache, as `prune` sees it. */
export interface CacheItem {
  /** The key id it is stored under (for a quarantined one: was). */
  id: string;
  dir: string;
  /**
   * `ready`: offered by lookups. `quarantined`: failed to resume, kept aside. `garbled`: its
   * meta.json is missing or not a snapshot's (nothing can use it). `unreadable`: it could not be read
   * now (`error`: EIO, EACCES...), which says nothing about its content: not garbage.
   */
  state: 'ready' | 'quarantined' | 'garbled' | 'unreadable';
  /** Its entry, when its meta.json is readable (to resume it, or to show its key). */
  entry?: SnapshotEntry;
  key?: CompatibilityKey;
  /** The image its disk and RAM belong to; its `image.qcow2`, a hard link, keeps that image's file alive. */
  imageDigest?: string;
  createdAt?: string;
  /** When a resume last prepared it (see prepareResume); undefined when none has since this was recorded. */
  lastUsed?: string;
  /** Allocated bytes only this directory holds: what removing it frees. */
  size: number;
  /** Allocated bytes of files linked elsewhere too (the image, a frozen disk a session links): freed when those go. */
  sharedSize: number;
  quarantined?: { at: string; reason: string };
  error?: string;
}

const reasonSchema = z.object({ at: z.string(), reason: z.string() });
const usedSchema = z.object({ at: z.string() });

/** A small JSON file of `schema`, or undefined when missing, garbled or unreadable (informative only). */
async function small<T>(path: string, schema: z.ZodType<T>): Promise<T | undefined> {
  try {
    const r = schema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** The quarantine record of a quarantined directory (an unknown reason when it has none). */
export async function quarantineRecord(dir: string): Promise<{ at: string; reason: string }> {
  return (await small(join(dir, REASON), reasonSchema)) ?? { at: '', reason: 'unknown' };
}

/** Allocated bytes under `dir`: held only here, and shared with other links. */
async function usage(dir: string): Promise<{ size: number; sharedSize: number }> {
  let size = 0;
  let sharedSize = 0;
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, d.name);
    if (d.isDirectory()) {
      const sub = await usage(path);
      size += sub.size;
      sharedSize += sub.sharedSize;
      continue;
    }
    const st = await lstat(path);
    if (st.nlink > 1 && st.isFile()) sharedSize += st.blocks * 512;
    else size += st.blocks * 512;
  }
  return { size, sharedSize };
}

async function item(id: string, dir: string, quarantined: boolean): Promise<CacheItem | undefined> {
  try {
    const meta = await readSnapshotMeta(dir);
    const base = { id, dir, ...(await usage(dir)) };
    const q = quarantined ? { quarantined: await quarantineRecord(dir) } : {};
    if (typeof meta === 'string') return { ...base, ...q, state: quarantined ? 'quarantined' : 'garbled' };
    const used = await small(join(dir, LAST_USED), usedSchema);
    return {
      ...base,
      ...q,
      state: quarantined ? 'quarantined' : 'ready',
      entry: entryOf(id, dir, meta),
      key: meta.key,
      imageDigest: meta.key.imageDigest,
      createdAt: meta.createdAt,
      ...(used ? { lastUsed: used.at } : {}),
    };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // removed meanwhile
    return { id, dir, state: 'unreadable', size: 0, sharedSize: 0, error: (e as Error).message };
  }
}

const names = async (dir: string) => {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
};

/** Every entry under `root` and in its quarantine, with what `prune` needs to choose (see {@link CacheItem}). */
export async function inventory(root: string): Promise<CacheItem[]> {
  const found: (CacheItem | undefined)[] = [];
  for (const n of (await names(root)).filter((n) => ENTRY_NAME.test(n)).sort())
    found.push(await item(n, join(root, n), false));
  for (const n of (await names(join(root, QUARANTINE))).sort()) {
    const m = QUARANTINED_NAME.exec(n);
    if (m) found.push(await item(m[1]!, join(root, QUARANTINE, n), true));
  }
  return found.filter((i) => i !== undefined);
}
