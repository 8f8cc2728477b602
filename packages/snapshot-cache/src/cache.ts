import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { processIdentity } from '@stack/internal';
import {
  ENTRY_NAME,
  inventory,
  type CacheItem,
  LAST_USED,
  QUARANTINE,
  QUARANTINED_NAME,
  quarantineRecord,
  REASON,
} from './cache-inventory.js';
import { beginCapture, CAPTURE_PREFIX, type Capture, TRASH_PREFIX } from './capture.js';
import { SnapshotError } from './errors.js';
import { readFailureCount } from './failure-count.js';
import { type Fsync, fsync, replaceFile } from './fsync.js';
import { RESTORE_PREFIX, resumeFile } from './resume-file.js';
import { type CompatibilityKey, describeDifferences, diffKeys, type KeyDifference, keyId, parseKey } from './key.js';
import { type RunTool, runTool } from './run-tool.js';
import { entryOf, readSnapshotMeta, type SnapshotEntry } from './snapshot-meta.js';
import { isLeftover, tempDirName, whileBusy } from './temp-dirs.js';

export type LookupResult =
  | { hit: true; entry: SnapshotEntry }
  | { hit: false; reason: string; differences: KeyDifference[]; quarantined?: { at: string; reason: string } };

export interface SnapshotCacheOptions {
  /** Runs zstd and qemu-img. @default runTool (spawns them) */
  run?: RunTool;
  /** How files and directories are synced before they are named. @default fsync (fdatasync, fsync) */
  fsync?: Fsync;
}

/** Removal trash from before trash names carried a pid. */
const LEGACY_TRASH = /^\.old-[0-9a-f]{32}-[0-9a-f]{8}$/;

const defaultAlive = (pid: number) => processIdentity(pid)?.alive === true;

/**
 * Snapshots under `<root>/<key id>/`. Captures go to `<root>/.tmp-*` and appear by one rename, so a
 * half-written snapshot is never found; a compressed copy is kept for storage and an uncompressed,
 * verified file for resume; snapshots that failed to resume move to `<root>/quarantine/`. Removal
 * renames an entry out of the way before deleting it, so no reader ever finds half of one.
 */
export class SnapshotCache {
  readonly root: string;
  readonly #run: RunTool;
  readonly #fsync: Fsync;

  constructor(root: string, options: SnapshotCacheOptions = {}) {
    this.root = root;
    this.#run = options.run ?? runTool;
    this.#fsync = options.fsync ?? fsync;
  }

  /** Readable entries; one that cannot be read now counts as absent (a miss recaptures it). */
  async #entries(): Promise<SnapshotEntry[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const out: SnapshotEntry[] = [];
    for (const id of names.filter((n) => ENTRY_NAME.test(n))) {
      const dir = join(this.root, id);
      const meta = await readSnapshotMeta(dir).catch(() => 'unreadable' as const);
      if (typeof meta !== 'string') out.push(entryOf(id, dir, meta));
    }
    return out;
  }

  /** Every committed snapshot. */
  list(): Promise<SnapshotEntry[]> {
    return this.#entries();
  }

  /**
   * Every directory of the cache, quarantined and garbled ones included, with its key, the image it
   * pins, its size on disk and its last use: what `prune` chooses from (see {@link CacheItem}).
   */
  inventory(): Promise<CacheItem[]> {
    return inventory(this.root);
  }

  /**
   * Deletes an entry or a quarantined one (an item of {@link inventory}, or an entry): renamed out of
   * the way in one step (a lookup then misses it; a resume that already found it gets
   * SNAPSHOT_NOT_FOUND from prepareResume), then deleted. False when it was gone already.
   */
  async remove(target: { dir: string }): Promise<boolean> {
    const dir = resolve(target.dir);
    const name = basename(dir);
    const inRoot = dirname(dir) === resolve(this.root) && ENTRY_NAME.test(name);
    const inQuarantine = dirname(dir) === resolve(this.root, QUARANTINE) && QUARANTINED_NAME.test(name);
    if (!inRoot && !inQuarantine)
      throw new TypeError(`${target.dir} is not an entry of the snapshot cache ${this.root}`);
    const trash = join(this.root, tempDirName(TRASH_PREFIX));
    return whileBusy(trash, async () => {
      try {
        await rename(dir, trash);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw e;
      }
      // Retried: a reader that found the entry just before may still be writing its last-used time into it.
      await rm(trash, { recursive: true, force: true, maxRetries: 5 });
      return true;
    });
  }

  /** Finds the snapshot for `key`; a miss says which components differ from the closest one stored. */
  async lookup(key: CompatibilityKey): Promise<LookupResult> {
    const id = keyId(parseKey(key));
    const entries = await this.#entries();
    const hit = entries.find((e) => e.id === id);
    if (hit) return { hit: true, entry: hit };
    const q = await this.#quarantined(id);
    if (q)
      return {
        hit: false,
        reason: `the snapshot for this configuration failed to resume and was quarantined (${q.reason})`,
        differences: [],
        quarantined: q,
      };
    if (entries.length === 0) return { hit: false, reason: 'no snapshot captured yet', differences: [] };
    const closest = entries.map((e) => diffKeys(e.meta.key, key)).sort((a, b) => a.length - b.length)[0]!;
    return {
      hit: false,
      reason: `stored snapshot does not match: ${describeDifferences(closest)}`,
      differences: closest,
    };
  }

  async #quarantined(id: string): Promise<{ at: string; reason: string } | undefined> {
    const dir = join(this.root, QUARANTINE);
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith(`${id}-`)).sort();
    const last = names.at(-1);
    return last ? quarantineRecord(join(dir, last)) : undefined;
  }

  /** Starts a capture in a private temp directory (named after this pid, so stale ones can be swept). */
  beginCapture(key: CompatibilityKey): Promise<Capture> {
    return beginCapture(this.root, key, { run: this.#run, fsync: this.#fsync });
  }

  /**
   * Returns the uncompressed state file to resume from, checked first: size and the digest of its
   * first and last MiB. A missing or failing file is rebuilt once from the compressed copy, verified
   * in full (size and sha256), synced and renamed into place. Records the entry's last use. Throws
   * {@link SnapshotCorruptError}, or SNAPSHOT_NOT_FOUND when the entry was removed (or replaced by a
   * new capture of its key) since it was found: that is no reason to quarantine anything.
   */
  async prepareResume(entry: SnapshotEntry, options: { signal?: AbortSignal } = {}): Promise<string> {
    let raw: string;
    try {
      raw = await resumeFile(entry, { run: this.#run, fsync: this.#fsync, signal: options.signal });
    } catch (e) {
      if ((await this.#stillThere(entry)) === false)
        throw new SnapshotError('SNAPSHOT_NOT_FOUND', `snapshot ${entry.id} was removed or replaced meanwhile`, {
          cause: e,
        });
      throw e;
    }
    // Informative (prune's "last used"): unsynced, and a failure (the entry just removed) is no failure.
    await replaceFile(
      join(entry.dir, LAST_USED),
      `${JSON.stringify({ at: new Date().toISOString() })}\n`,
      undefined,
    ).catch(() => {});
    return raw;
  }

  /**
   * Whether `entry.dir` still holds that capture (not removed, nor replaced by a new capture of its
   * key); undefined when that cannot be told now.
   */
  async #stillThere(entry: SnapshotEntry): Promise<boolean | undefined> {
    const now = await readSnapshotMeta(entry.dir).catch(() => undefined);
    if (now === undefined || now === 'garbled') return undefined;
    return now !== 'missing' && now.createdAt === entry.meta.createdAt && now.state.sha256 === entry.meta.state.sha256;
  }

  /**
   * Counts a failed resume that may have been transient (a timeout under load): returns how many
   * failures in a row the snapshot now has. The caller quarantines it when that reaches its limit.
   */
  async recordFailure(entry: SnapshotEntry, reason: string): Promise<number> {
    const file = join(entry.dir, 'failures.json');
    const count = (await readFailureCount(file)) + 1;
    await replaceFile(file, `${JSON.stringify({ count, last: reason, at: new Date().toISOString() })}\n`, this.#fsync);
    return count;
  }

  /** A successful resume resets the count of failures in a row. */
  async clearFailures(entry: SnapshotEntry): Promise<void> {
    await rm(join(entry.dir, 'failures.json'), { force: true });
  }

  /**
   * Moves a snapshot aside with the reason (written and synced inside it first, so a quarantined
   * snapshot always has its reason); lookups for its key then report it instead of resuming it. The
   * move is synced: after a power cut it is not offered again. SNAPSHOT_NOT_FOUND when it was removed
   * or replaced by a new capture since it was found.
   */
  async quarantine(entry: SnapshotEntry, reason: string): Promise<string> {
    const dir = join(this.root, QUARANTINE);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const dest = join(dir, `${entry.id}-${Date.now()}`);
    const gone = (cause?: unknown) =>
      new SnapshotError(
        'SNAPSHOT_NOT_FOUND',
        `snapshot ${entry.id} was removed or replaced before it was quarantined`,
        {
          cause,
        },
      );
    // A new capture of the key that replaced it is not the one that failed.
    if ((await this.#stillThere(entry)) === false) throw gone();
    try {
      await replaceFile(
        join(entry.dir, REASON),
        `${JSON.stringify({ at: new Date().toISOString(), reason })}\n`,
        this.#fsync,
      );
      await rename(entry.dir, dest);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new SnapshotError(
          'SNAPSHOT_NOT_FOUND',
          `snapshot ${entry.id} was removed before it could be quarantined`,
          {
            cause: e,
          },
        );
      throw e;
    }
    await this.#fsync.dir(dir);
    await this.#fsync.dir(this.root);
    return dest;
  }

  /**
   * Removes what killed commands left: capture temp directories and removal trash of dead processes
   * (or of this pid, reused, when this process is not working in them), and the temp file of a killed
   * decompression inside an entry. Returns their names (relative to the root).
   */
  async sweep(isAlive: (pid: number) => boolean = defaultAlive): Promise<string[]> {
    const removed: string[] = [];
    const names = await readdir(this.root).catch(() => [] as string[]);
    for (const n of names) {
      const path = join(this.root, n);
      if (LEGACY_TRASH.test(n) || isLeftover(n, [CAPTURE_PREFIX, TRASH_PREFIX], { path, isAlive })) {
        await rm(path, { recursive: true, force: true });
        removed.push(n);
      } else if (ENTRY_NAME.test(n)) {
        for (const f of await readdir(path).catch(() => [] as string[])) {
          if (!isLeftover(f, [RESTORE_PREFIX], { path: join(path, f), isAlive })) continue;
          await rm(join(path, f), { force: true });
          removed.push(`${n}/${f}`);
        }
      }
    }
    return removed;
  }
}
