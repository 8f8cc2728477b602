import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { EmulatorConfig } from '../config/resolve-config.js';
import { EmulatorError } from '../errors.js';

/** Bytes allocated under `path` (files' blocks, not their apparent size: sparse RAM files count as what they hold). */
export async function allocatedBytes(path: string): Promise<number> {
  const st = await stat(path).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.blocks * 512;
  const names = await readdir(path).catch(() => [] as string[]);
  let n = 0;
  for (const name of names) n += await allocatedBytes(join(path, name));
  return n;
}

const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;

/** True when `e` or one of its causes is the file system saying it is full (and not yet DISK_FULL). */
export function isDiskFull(e: unknown): boolean {
  for (let c: unknown = e, d = 0; c !== undefined && c !== null && d < 8; c = (c as Error).cause, d++) {
    if ((c as { code?: unknown }).code === 'DISK_FULL') return false;
    const errno = (c as NodeJS.ErrnoException).code;
    if (errno === 'ENOSPC' || errno === 'EDQUOT') return true;
    if (c instanceof Error && /No space left on device/.test(c.message)) return true;
  }
  return false;
}

/**
 * The error for a full file system: which directory, how much is free, what of ours holds the space
 * there (images, snapshots, the session), and the way out. Never a bare ENOSPC.
 */
export async function diskFull(config: EmulatorConfig, cause: unknown): Promise<EmulatorError> {
  const p = config.paths;
  const fs = await statfs(p.home).catch(() => undefined);
  const free = fs ? ` (${gb(fs.bavail * fs.bsize)} free)` : '';
  const held = await Promise.all(
    [
      ['images', p.images],
      ['snapshots', p.snapshots],
      ['the session', p.session],
    ].map(async ([name, dir]) => `${name} ${gb(await allocatedBytes(dir!))}`),
  );
  return new EmulatorError(
    'DISK_FULL',
    `no space left on the file system of ${p.home}${free}; the emulator holds: ${held.join(', ')}`,
    {
      cause,
      hint: '`stack-emulator prune` removes snapshots, images and leftovers nothing uses (it lists them first); `stack-emulator reset` also discards the session',
    },
  );
}
