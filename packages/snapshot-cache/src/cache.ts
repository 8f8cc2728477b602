import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SnapshotCorruptError } from './errors.js';
import { edgeDigest, sampledProblem, sampledRecord } from './file-digest.js';
import { linkOrCopy } from './link-or-copy.js';
import { createOverlay } from './overlay.js';
import { fsyncFile, processIdentity, sha256File } from '@stack/internal';
import { type CompatibilityKey, parseKey, describeDifferences, diffKeys, type KeyDifference, keyId } from './key.js';
import { type RunTool, runTool } from './run-tool.js';

const STATE_RAW = 'state.raw';
const STATE_ZST = 'state.zst';
const DISK = 'disk.qcow2';
const META = 'meta.json';
const IMAGE = 'image.qcow2';
const RAM = 'ram.img';

export interface SnapshotMeta {
  version: 1;
  key: CompatibilityKey;
  createdAt: string;
  state: { size: number; sha256: string; edgeSha256: string };
  /** Name of the frozen overlay paired with the RAM state, when the capture kept one. */
  disk?: string;
  /**
   * A template snapshot's guest RAM (format `template-ram`): the file the captured VM's memory lived
   * in, resumed by mapping it privately, never rewritten. `state` then holds the device state only.
   */
  ram?: { file: string; size: number; sampleSha256: string };
}

export interface SnapshotEntry {
  id: string;
  dir: string;
  meta: SnapshotMeta;
  /** The frozen disk the RAM belongs to; resume on a fresh overlay backed by it. */
  diskPath: string | undefined;
  /** A template snapshot's RAM file (see {@link SnapshotMeta.ram}). */
  ramPath: string | undefined;
}

export type LookupResult =
  | { hit: true; entry: SnapshotEntry }
  | { hit: false; reason: string; differences: KeyDifference[]; quarantined?: { at: string; reason: string } };

export interface Capture {
  /** Temp directory; nothing in it is visible to lookups until `commit`. */
  dir: string;
  /** Where QEMU's migration writes the RAM state (`file:` URI target). */
  statePath: string;
  /** Where the capture's overlay lives; it becomes the frozen disk on commit. */
  diskPath: string;
  /**
   * Where a template capture's VM keeps its RAM (a shared `memory-backend-file`, which QEMU creates):
   * when the file exists at commit it becomes the snapshot's RAM file, flushed to disk first.
   */
  ramPath: string;
  /**
   * Makes `diskPath` a fresh overlay on `image`, through a hard link of the image inside the capture
   * (relative backing name): the snapshot stays whole when the image file is replaced, and a session
   * can link the frozen disk and the image side by side.
   */
  createDisk(image: string, options?: { signal?: AbortSignal }): Promise<void>;
  commit(options?: { keepDisk?: boolean; signal?: AbortSignal }): Promise<SnapshotEntry>;
  abort(): Promise<void>;
}

const alive = (pid: number) => processIdentity(pid)?.alive === true;

const paths = (dir: string, meta: SnapshotMeta) => ({
  diskPath: meta.disk ? join(dir, meta.disk) : undefined,
  ramPath: meta.ram ? join(dir, meta.ram.file) : undefined,
});

/**
 * Snapshots under `<root>/<key id>/`. Captures go to `<root>/.tmp-*` and appear by one rename, so a
 * half-written snapshot is never found; a compressed copy is kept for storage and an uncompressed,
 * verified file for resume; snapshots that failed to resume move to `<root>/quarantine/`.
 */
export class SnapshotCache {
  readonly root: string;
  readonly #run: RunTool;

  constructor(root: string, options: { run?: RunTool } = {}) {
    this.root = root;
    this.#run = options.run ?? runTool;
  }

  async #entries(): Promise<SnapshotEntry[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const out: SnapshotEntry[] = [];
    for (const id of names.filter((n) => /^[0-9a-f]{32}$/.test(n))) {
      const dir = join(this.root, id);
      try {
        const meta = JSON.parse(await readFile(join(dir, META), 'utf8')) as SnapshotMeta;
        out.push({ id, dir, ...paths(dir, meta), meta });
      } catch {
        // A directory without readable metadata is not a snapshot.
      }
    }
    return out;
  }

  /** Every committed snapshot. */
  list(): Promise<SnapshotEntry[]> {
    return this.#entries();
  }

  /** Deletes a snapshot (e.g. every one keyed to an image that was replaced). */
  async remove(entry: SnapshotEntry): Promise<void> {
    const trash = join(this.root, `.old-${entry.id}-${randomBytes(4).toString('hex')}`);
    await rename(entry.dir, trash);
    await rm(trash, { recursive: true, force: true });
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
    const dir = join(this.root, 'quarantine');
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith(`${id}-`)).sort();
    const last = names.at(-1);
    if (!last) return undefined;
    return JSON.parse(
      await readFile(join(dir, last, 'reason.json'), 'utf8').catch(() => '{"at":"","reason":"unknown"}'),
    );
  }

  /** Starts a capture in a private temp directory (named after this pid, so stale ones can be swept). */
  async beginCapture(key: CompatibilityKey): Promise<Capture> {
    const parsed = parseKey(key);
    const id = keyId(parsed);
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const dir = join(this.root, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(dir, { mode: 0o700 });
    const statePath = join(dir, STATE_RAW);
    const diskPath = join(dir, DISK);
    const ramPath = join(dir, RAM);
    return {
      dir,
      statePath,
      diskPath,
      ramPath,
      abort: () => rm(dir, { recursive: true, force: true }),
      createDisk: async (image, options = {}) => {
        await linkOrCopy(image, join(dir, IMAGE));
        await createOverlay(join(dir, IMAGE), diskPath, { backingName: IMAGE, run: this.#run, signal: options.signal });
      },
      commit: async (options = {}) => {
        const size = (await stat(statePath)).size;
        const meta: SnapshotMeta = {
          version: 1,
          key: parsed,
          createdAt: new Date().toISOString(),
          state: { size, sha256: await sha256File(statePath, options.signal), edgeSha256: await edgeDigest(statePath) },
        };
        // zstd level 1: about 4x smaller for guest RAM at high speed; -T0 uses every core.
        await this.#run('zstd', ['-q', '-1', '-T0', '-f', statePath, '-o', join(dir, STATE_ZST)], {
          signal: options.signal,
        });
        if (await stat(ramPath).catch(() => undefined)) {
          // The guest wrote it through a shared mapping: in the page cache, not yet on disk.
          await fsyncFile(ramPath);
          await chmod(ramPath, 0o600); // QEMU created it under the umask; it is guest RAM
          meta.ram = { file: RAM, ...(await sampledRecord(ramPath)) };
        }
        if (options.keepDisk) {
          await chmod(diskPath, 0o444); // frozen: resumes layer fresh overlays on it
          meta.disk = DISK;
        } else {
          await rm(diskPath, { force: true });
          await rm(join(dir, IMAGE), { force: true });
        }
        await writeFile(join(dir, META), `${JSON.stringify(meta, null, 2)}\n`);
        const final = join(this.root, id);
        const old = join(this.root, `.old-${id}-${randomBytes(4).toString('hex')}`);
        await rename(final, old).catch(() => {});
        await rename(dir, final);
        await rm(old, { recursive: true, force: true });
        return { id, dir: final, ...paths(final, meta), meta };
      },
    };
  }

  /**
   * Returns the uncompressed state file to resume from, checked first: size and the digest of its
   * first and last MiB. A missing or failing file is rebuilt once from the compressed copy, verified
   * in full (size and sha256) before it is renamed into place. Throws {@link SnapshotCorruptError}.
   */
  async prepareResume(entry: SnapshotEntry, options: { signal?: AbortSignal } = {}): Promise<string> {
    const ram = entry.meta.ram;
    if (ram) {
      // No second copy to rebuild it from: a template whose samples differ is corrupt.
      const file = join(entry.dir, ram.file);
      const problem = await sampledProblem(file, ram);
      if (problem === 'missing') throw new SnapshotCorruptError(file, 'the template RAM file is missing');
      if (problem)
        throw new SnapshotCorruptError(
          file,
          `the template RAM file differs from the capture (${(await stat(file)).size} bytes, expected ${ram.size})`,
        );
    }
    const raw = join(entry.dir, STATE_RAW);
    const want = entry.meta.state;
    const st = await stat(raw).catch(() => undefined);
    if (st && st.size === want.size && (await edgeDigest(raw)) === want.edgeSha256) return raw;
    const zst = join(entry.dir, STATE_ZST);
    if (!(await stat(zst).catch(() => undefined))) {
      throw new SnapshotCorruptError(
        raw,
        st
          ? `size ${st.size} or content differs from the captured ${want.size} bytes, and no compressed copy exists`
          : 'missing, and no compressed copy exists',
      );
    }
    const tmp = `${raw}.${process.pid}.tmp`;
    try {
      await this.#run('zstd', ['-q', '-d', '-f', zst, '-o', tmp], { signal: options.signal }).catch((e: Error) => {
        throw new SnapshotCorruptError(zst, `cannot be decompressed (${e.message})`);
      });
      const size = (await stat(tmp)).size;
      if (size !== want.size)
        throw new SnapshotCorruptError(zst, `decompresses to ${size} bytes, expected ${want.size}`);
      if ((await sha256File(tmp, options.signal)) !== want.sha256)
        throw new SnapshotCorruptError(zst, 'sha256 of the decompressed state differs from the capture');
      await rename(tmp, raw);
      return raw;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * Counts a failed resume that may have been transient (a timeout under load): returns how many
   * failures in a row the snapshot now has. The caller quarantines it when that reaches its limit.
   */
  async recordFailure(entry: SnapshotEntry, reason: string): Promise<number> {
    const file = join(entry.dir, 'failures.json');
    const prior = JSON.parse(await readFile(file, 'utf8').catch(() => '{"count":0}')) as { count: number };
    const count = prior.count + 1;
    await writeFile(file, `${JSON.stringify({ count, last: reason, at: new Date().toISOString() })}\n`);
    return count;
  }

  /** A successful resume resets the count of failures in a row. */
  async clearFailures(entry: SnapshotEntry): Promise<void> {
    await rm(join(entry.dir, 'failures.json'), { force: true });
  }

  /** Moves a snapshot aside with the reason; lookups for its key then report it instead of resuming it. */
  async quarantine(entry: SnapshotEntry, reason: string): Promise<string> {
    const dir = join(this.root, 'quarantine');
    await mkdir(dir, { recursive: true });
    const dest = join(dir, `${entry.id}-${Date.now()}`);
    await rename(entry.dir, dest);
    await writeFile(join(dest, 'reason.json'), `${JSON.stringify({ at: new Date().toISOString(), reason })}\n`);
    return dest;
  }

  /** Removes temp directories of captures whose process is gone (e.g. killed mid-capture). */
  async sweep(): Promise<string[]> {
    const removed: string[] = [];
    for (const n of await readdir(this.root).catch(() => [] as string[])) {
      const m = /^\.(?:tmp|old)-(?:(\d+)-)?/.exec(n);
      if (!m) continue;
      const pid = m[1] ? Number(m[1]) : undefined;
      if (pid !== undefined && alive(pid) && pid !== process.pid) continue;
      await rm(join(this.root, n), { recursive: true, force: true });
      removed.push(n);
    }
    return removed;
  }
}
