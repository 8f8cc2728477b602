import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { syncPath } from './durable-rename.js';

export interface AtomicWriteOptions {
  /** File mode, applied when the temp file is created (not by a later chmod). @default 0o644 */
  mode?: number;
  /**
   * fsync the file before the rename (durable across a power cut). Off for files rewritten at every
   * start whose loss a crash makes moot (run/state.json: after a power cut no VM is running): on macOS
   * fsync is F_FULLFSYNC, a full cache flush of the disk, tens of ms on the resume path. @default true
   */
  fsync?: boolean;
  /** Mode of the parent directory when it has to be created. @default 0o777 (less the umask) */
  dirMode?: number;
}

/** A hidden temp name beside `path`, so the rename stays on one filesystem. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes `data` to a temp file beside `path`, fsyncs it and renames it over `path`, then fsyncs the
 * directory so the rename itself survives a power cut (POSIX: a rename is durable only once its
 * directory is synced). A reader sees either the old file or the complete new one; on failure the
 * temp file is removed and `path` is untouched.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string | Readable,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, ...(options.dirMode === undefined ? {} : { mode: options.dirMode }) });
  const tmp = tempPathFor(path);
  const handle = await open(tmp, 'wx', options.mode ?? 0o644);
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) {
      await handle.writeFile(data);
    } else {
      for await (const chunk of data) await handle.write(chunk as Uint8Array);
    }
    if (options.fsync !== false) await handle.sync();
    await handle.close();
    await rename(tmp, path);
  } catch (e) {
    await handle.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  if (options.fsync !== false) await syncPath(dirname(path));
}
