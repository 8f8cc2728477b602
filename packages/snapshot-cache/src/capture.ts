import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File, writeFileAtomic } from '@stack/internal';
import { edgeDigest, sampledRecord } from './file-digest.js';
import { type Fsync, syncTree } from './fsync.js';
import { type CompatibilityKey, keyId, parseKey } from './key.js';
import { linkOrCopy } from './link-or-copy.js';
import { createOverlay } from './overlay.js';
import type { RunTool } from './run-tool.js';
import { entryOf, SNAPSHOT_META, type SnapshotEntry, type SnapshotMeta } from './snapshot-meta.js';
import { statIfExists } from './stat-if-exists.js';
import { tempDirName, whileBusy } from './temp-dirs.js';

export const STATE_RAW = 'state.raw';
export const STATE_ZST = 'state.zst';
const DISK = 'disk.qcow2';
const IMAGE = 'image.qcow2';
const RAM = 'ram.img';

/** Prefixes of a cache's temp directories: a capture in progress, and an entry being deleted. */
export const CAPTURE_PREFIX = '.tmp-';
export const TRASH_PREFIX = '.old-';

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
  /**
   * `key`: the key to store it under when the guest came to match another one during the capture
   * (told other config-disk values through its agent). @default the key it was begun with
   */
  commit(options?: { keepDisk?: boolean; signal?: AbortSignal; key?: CompatibilityKey }): Promise<SnapshotEntry>;
  abort(): Promise<void>;
}

/**
 * Starts a capture for `key` in `<root>/.tmp-<pid>-<random>` (marked busy until it is committed or
 * aborted, so no sweep of this process takes it). `commit()` hashes the state, stores a zstd copy,
 * freezes the disk, syncs every file and the directory, and renames it to `<root>/<key id>`, then
 * syncs the root: after a power cut an entry is complete or absent.
 */
export async function beginCapture(
  root: string,
  key: CompatibilityKey,
  deps: { run: RunTool; fsync: Fsync },
): Promise<Capture> {
  const begun = parseKey(key);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const dir = join(root, tempDirName(CAPTURE_PREFIX));
  let finish: () => void = () => {};
  const held = new Promise<void>((r) => (finish = r));
  void whileBusy(dir, () => held);
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (e) {
    finish();
    throw e;
  }
  const statePath = join(dir, STATE_RAW);
  const diskPath = join(dir, DISK);
  const ramPath = join(dir, RAM);
  return {
    dir,
    statePath,
    diskPath,
    ramPath,
    abort: async () => {
      await rm(dir, { recursive: true, force: true });
      finish();
    },
    createDisk: async (image, options = {}) => {
      await linkOrCopy(image, join(dir, IMAGE));
      await createOverlay(join(dir, IMAGE), diskPath, { backingName: IMAGE, run: deps.run, signal: options.signal });
    },
    commit: async (options = {}) => {
      try {
        const parsed = options.key ? parseKey(options.key) : begun;
        const id = keyId(parsed);
        const size = (await stat(statePath)).size;
        const meta: SnapshotMeta = {
          version: 1,
          key: parsed,
          createdAt: new Date().toISOString(),
          state: { size, sha256: await sha256File(statePath, options.signal), edgeSha256: await edgeDigest(statePath) },
        };
        // zstd level 1: about 4x smaller for guest RAM at high speed; -T0 uses every core.
        await deps.run('zstd', ['-q', '-1', '-T0', '-f', statePath, '-o', join(dir, STATE_ZST)], {
          signal: options.signal,
        });
        if (await statIfExists(ramPath)) {
          // The guest wrote it through a shared mapping: in the page cache until the tree is synced below.
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
        await writeFileAtomic(join(dir, SNAPSHOT_META), `${JSON.stringify(meta, null, 2)}\n`, { fsync: false });
        // Everything QEMU and zstd wrote, and the directory, reach the disk before the entry is named.
        await syncTree(dir, deps.fsync);
        const final = join(root, id);
        const old = join(root, tempDirName(TRASH_PREFIX));
        return await whileBusy(old, async () => {
          await rename(final, old).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOENT') throw e;
          });
          await rename(dir, final);
          await deps.fsync.dir(root);
          await rm(old, { recursive: true, force: true });
          return entryOf(id, final, meta);
        });
      } finally {
        finish();
      }
    },
  };
}
