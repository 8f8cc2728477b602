import { link, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SnapshotError } from './errors.js';
import type { Fsync } from './fsync.js';
import { chainOf, virtualSizeOf } from './overlay.js';
import type { RunTool } from './run-tool.js';
import { readSessionMeta, SESSION_DISK, type SessionMeta, writeSessionMeta } from './session-meta.js';

/**
 * Frozen layers of a session's disk chain, one per checkpoint saved from it: `layer-<id>.qcow2`.
 * image <- golden <- layer... <- disk. The chain grows by one per save on the same lineage and never
 * otherwise (a restore continues on the checkpoint's chain), so it is bounded by refusing a save past
 * {@link MAX_LAYERS}: the fix is to restore an earlier checkpoint or reset.
 *
 * Why the new disk waits under another name (`pendingTop`) until QEMU has exited: QEMU reopens an
 * image by the file name it was opened with whenever its permissions change (block/file-posix.c,
 * raw_reconfigure_getfd: the frozen disk turning read-only, a migration's inactivate and re-activate),
 * so no file QEMU has open may be renamed under it. A rename of the new disk over `disk.qcow2` had the
 * frozen node reopen the new file and `cont` fail with "Failed to get write lock".
 */
export const MAX_LAYERS = 16;

const isLayerName = (name: string) => /^layer-[0-9a-z]+-[0-9a-f]{8}\.qcow2$/.test(name);
const isTopName = (name: string) => /^\.top-[0-9a-z]+-[0-9a-f]{8}\.qcow2$/.test(name);

/** The disk the session's VM writes now: the pending one while a VM runs after a checkpoint. */
export const topOf = (meta: SessionMeta | undefined) => meta?.pendingTop ?? SESSION_DISK;

/** The next disk of a session, made before the guest is paused: an empty overlay on `layer`. */
export interface PreparedLayer {
  /** The name the current disk gets as a frozen layer (`layer-<id>.qcow2`, a hard link). */
  layer: string;
  /** The new disk (`.top-<id>.qcow2`), named `disk.qcow2` once no VM runs on the session. */
  next: string;
}

/**
 * Makes the overlay the session continues on once its current disk is frozen, backed by the name
 * that disk will have. Made while the VM runs: `qemu-img create -u` does not open the backing (it does
 * not exist under that name yet, and QEMU holds the disk's write lock).
 */
export async function prepareLayer(
  dir: string,
  options: { run: RunTool; now: () => number; signal?: AbortSignal },
): Promise<PreparedLayer> {
  const meta = await readSessionMeta(dir);
  if (!meta) throw new SnapshotError('SNAPSHOT_NOT_FOUND', `no session in ${dir}`);
  const top = join(dir, topOf(meta));
  const layers = (await chainOf(top)).filter(isLayerName).length;
  if (layers >= MAX_LAYERS)
    throw new SnapshotError(
      'SNAPSHOT_CHAIN_TOO_DEEP',
      `the session's disk already has ${layers} checkpoint layers (at most ${MAX_LAYERS})`,
    );
  const id = `${options.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const layer = `layer-${id}.qcow2`;
  const next = join(dir, `.top-${id}.qcow2`);
  await options.run(
    'qemu-img',
    ['create', '-q', '-f', 'qcow2', '-u', '-b', layer, '-F', 'qcow2', next, String(await virtualSizeOf(top))],
    { signal: options.signal },
  );
  return { layer, next };
}

/**
 * Freezes the session's current disk as `prepared.layer` (a hard link: QEMU keeps its own name for
 * it) and records the prepared overlay as the disk, synced, before QEMU is switched to it. Every
 * point is a consistent disk: until the switch QEMU writes the frozen file, which the (empty) new
 * overlay shows through; a crash before the record leaves an unused link that {@link sweepLayers} removes.
 */
export async function freezeLayer(dir: string, prepared: PreparedLayer, fsync: Fsync): Promise<void> {
  const meta = await readSessionMeta(dir);
  if (!meta) throw new SnapshotError('SNAPSHOT_NOT_FOUND', `no session in ${dir}`);
  await fsync.file(prepared.next);
  await link(join(dir, topOf(meta)), join(dir, prepared.layer));
  await fsync.dir(dir);
  await writeSessionMeta(dir, { ...meta, pendingTop: prepared.next.slice(dir.length + 1) });
}

/**
 * With no VM on the session: the pending disk becomes `disk.qcow2` (a rename, synced, then the
 * record cleared), and what a killed save left is removed: `.top-` files not pending, layers the chain
 * does not use. Returns the names removed.
 */
export async function settleLayers(dir: string, fsync: Fsync): Promise<string[]> {
  let meta = await readSessionMeta(dir);
  if (!meta) return [];
  if (meta.pendingTop) {
    await rename(join(dir, meta.pendingTop), join(dir, SESSION_DISK)).catch((e: NodeJS.ErrnoException) => {
      // Renamed already by a settle killed before it cleared the record.
      if (e.code !== 'ENOENT') throw e;
    });
    await fsync.dir(dir);
    const { pendingTop: _p, ...rest } = meta;
    await writeSessionMeta(dir, rest);
    meta = rest;
  }
  const chain = new Set(await chainOf(join(dir, SESSION_DISK)));
  const gone = (await readdir(dir)).filter((n) => isTopName(n) || (isLayerName(n) && !chain.has(n)));
  await Promise.all(gone.map((n) => rm(join(dir, n), { force: true })));
  return gone;
}
