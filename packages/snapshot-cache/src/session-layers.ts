import { link, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SnapshotError } from './errors.js';
import type { Fsync } from './fsync.js';
import { chainOf, virtualSizeOf } from './overlay.js';
import type { RunTool } from './run-tool.js';
import { SESSION_DISK } from './session-meta.js';

/**
 * Frozen layers of a session's disk chain, one per checkpoint saved from it: `layer-<id>.qcow2`.
 * image <- golden <- layer... <- disk. The chain grows by one per save on the same lineage and never
 * otherwise (a restore continues on the checkpoint's chain), so it is bounded by refusing a save past
 * {@link MAX_LAYERS}: the fix is to restore an earlier checkpoint or reset.
 */
export const MAX_LAYERS = 16;
const NEXT = '.disk-next.qcow2';

const isLayerName = (name: string) => /^layer-[0-9a-z]+-[0-9a-f]{8}\.qcow2$/.test(name);

/** The next disk of a session, made before the guest is paused: an empty overlay on `layer`. */
export interface PreparedLayer {
  /** The name the current disk gets when it is frozen (`layer-<id>.qcow2`). */
  layer: string;
  /** The new disk, still under a temp name in the session directory. */
  next: string;
}

/**
 * Makes the overlay the session continues on once its current disk is frozen, backed by the name
 * that disk will get. Made while the VM runs: `qemu-img create -u` does not open the backing (it does
 * not exist under that name yet, and QEMU holds the disk's write lock).
 */
export async function prepareLayer(
  dir: string,
  options: { run: RunTool; now: () => number; signal?: AbortSignal },
): Promise<PreparedLayer> {
  const disk = join(dir, SESSION_DISK);
  const chain = await chainOf(disk);
  const layers = chain.filter(isLayerName).length;
  if (layers >= MAX_LAYERS)
    throw new SnapshotError(
      'SNAPSHOT_CHAIN_TOO_DEEP',
      `the session's disk already has ${layers} checkpoint layers (at most ${MAX_LAYERS})`,
    );
  const size = await virtualSizeOf(disk);
  const layer = `layer-${options.now().toString(36)}-${randomBytes(4).toString('hex')}.qcow2`;
  const next = join(dir, NEXT);
  await rm(next, { force: true });
  await options.run('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', layer, '-F', 'qcow2', next, String(size)], {
    signal: options.signal,
  });
  return { layer, next };
}

/**
 * Freezes the session's disk as `prepared.layer` and names the prepared overlay the session's disk:
 * a hard link, then a rename over `disk.qcow2`, each synced. Every point is a consistent disk: until
 * QEMU is switched to the new overlay it writes the frozen file, which the (empty) overlay shows
 * through; a crash before the rename leaves an unused link that {@link sweepLayers} removes.
 */
export async function freezeLayer(dir: string, prepared: PreparedLayer, fsync: Fsync): Promise<void> {
  await fsync.file(prepared.next);
  await link(join(dir, SESSION_DISK), join(dir, prepared.layer));
  await rename(prepared.next, join(dir, SESSION_DISK));
  await fsync.dir(dir);
}

/** Removes layers the session's chain no longer names, and a next disk a killed save left. */
export async function sweepLayers(dir: string, names: readonly string[]): Promise<string[]> {
  const chain = new Set(await chainOf(join(dir, SESSION_DISK)));
  const gone = names.filter((n) => n === NEXT || (isLayerName(n) && !chain.has(n)));
  await Promise.all(gone.map((n) => rm(join(dir, n), { force: true })));
  return gone;
}
