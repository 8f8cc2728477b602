import { open, rename, rm } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { SnapshotError } from './errors.js';
import { type RunTool, runTool } from './run-tool.js';

export interface OverlayOptions {
  /**
   * The backing name recorded in the overlay. A relative name is resolved by QEMU against the
   * directory of the overlay (as it was opened), so a directory holding an overlay and hard links of
   * its backing files is self-contained: the files it was made from can be replaced or deleted.
   * @default the absolute path of `backing`
   */
  backingName?: string;
  run?: RunTool;
  signal?: AbortSignal;
}

/**
 * Creates a thin qcow2 overlay on `backing`, written to a temp name and renamed. A resume always gets
 * a fresh overlay on the disk state its RAM was captured with.
 */
export async function createOverlay(backing: string, dest: string, options: OverlayOptions = {}): Promise<void> {
  const tmp = `${dest}.${process.pid}.tmp`;
  const name = options.backingName ?? resolve(backing);
  // qemu-img resolves a relative -b against the new image's directory: the temp file is beside dest.
  if (!isAbsolute(name) && resolve(dest, '..', name) !== resolve(backing)) {
    throw new TypeError(`backing name ${name} does not lead from ${dest} to ${backing}`);
  }
  try {
    await (options.run ?? runTool)('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', name, '-F', 'qcow2', tmp], {
      signal: options.signal,
    });
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Points `disk` at another backing file with the same content (`qemu-img rebase -u`: only the header
 * changes). Used when a disk moves into a directory beside hard links of what it was made from.
 */
export async function rebaseOverlay(
  disk: string,
  backingName: string,
  options: { run?: RunTool; signal?: AbortSignal } = {},
): Promise<void> {
  await (options.run ?? runTool)(
    'qemu-img',
    ['rebase', '-q', '-u', '-f', 'qcow2', '-b', backingName, '-F', 'qcow2', disk],
    { signal: options.signal },
  );
}

const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"

/**
 * The backing file name recorded in a qcow2 header (qcow2 spec: backing_file_offset at byte 8,
 * backing_file_size at 16), or undefined for a disk without one. Read directly: a qemu-img spawn
 * costs tens of ms on every start.
 */
export async function backingNameOf(disk: string): Promise<string | undefined> {
  const fh = await open(disk, 'r');
  try {
    const head = Buffer.alloc(20);
    await fh.read(head, 0, 20, 0);
    if (head.readUInt32BE(0) !== QCOW2_MAGIC)
      throw new SnapshotError('SNAPSHOT_CORRUPT', `${disk} is not a qcow2 image`);
    const offset = Number(head.readBigUInt64BE(8));
    const size = head.readUInt32BE(16);
    if (offset === 0 || size === 0) return undefined;
    if (size > 1023)
      throw new SnapshotError('SNAPSHOT_CORRUPT', `${disk}: backing file name of ${size} bytes (qcow2 allows 1023)`);
    const name = Buffer.alloc(size);
    await fh.read(name, 0, size, offset);
    return name.toString('utf8');
  } finally {
    await fh.close();
  }
}

/** The virtual size in bytes recorded in a qcow2 header (qcow2 spec: `size` at byte 24). */
export async function virtualSizeOf(disk: string): Promise<number> {
  const fh = await open(disk, 'r');
  try {
    const head = Buffer.alloc(32);
    await fh.read(head, 0, 32, 0);
    if (head.readUInt32BE(0) !== QCOW2_MAGIC)
      throw new SnapshotError('SNAPSHOT_CORRUPT', `${disk} is not a qcow2 image`);
    return Number(head.readBigUInt64BE(24));
  } finally {
    await fh.close();
  }
}

/**
 * The files of `disk`'s backing chain, top first, as names relative to its directory (the chain of a
 * session or checkpoint is self-contained: every backing name is a file beside it). Throws
 * SNAPSHOT_CORRUPT on an absolute or nested backing name, or a chain longer than `limit`.
 */
export async function chainOf(disk: string, limit = 64): Promise<string[]> {
  const dir = resolve(disk, '..');
  const names = [basename(disk)];
  for (;;) {
    const next = await backingNameOf(join(dir, names[names.length - 1]!));
    if (next === undefined) return names;
    if (isAbsolute(next) || next.includes('/') || names.includes(next))
      throw new SnapshotError('SNAPSHOT_CORRUPT', `${disk}: backing file ${next} is not a file beside it`);
    names.push(next);
    if (names.length > limit) throw new SnapshotError('SNAPSHOT_CORRUPT', `${disk}: a chain of over ${limit} files`);
  }
}
