import { constants } from 'node:fs';
import { chmod, lstat, lutimes, mkdir, open, symlink, utimes } from 'node:fs/promises';
import { resolve } from 'node:path';
import { IsoError } from './errors.js';
import { planExtraction } from './extract-plan.js';
import { IsoReader } from './reader.js';

/** Options of an extraction, once validated (see extractIso). */
export interface ExtractImageOptions {
  keepEscapingSymlinks: boolean;
  signal?: AbortSignal | undefined;
}

/** Extraction counts. */
export interface ExtractResult {
  files: number;
  directories: number;
  symlinks: number;
}

// O_EXCL: an existing name, a symlink included, is an error (never followed); O_NOFOLLOW says so twice.
const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * extractIso without the zod layer: the CLI's arguments are checked by commander, and loading zod
 * would cost every command its start-up time (as for create).
 */
export async function extractImage(image: string, dest: string, options: ExtractImageOptions): Promise<ExtractResult> {
  const reader = await IsoReader.open(image);
  const root = resolve(dest);
  const at = (path: string) => `${root}${path}`;
  const aborted = () => options.signal?.throwIfAborted();
  try {
    const plan = planExtraction(await reader.list(), options);
    await mkdir(root, { recursive: true });
    for (const d of plan.directories) {
      aborted();
      await makeDirectory(at(d.path), d.path);
    }
    for (const f of plan.files) {
      aborted();
      const fh = await open(at(f.path), CREATE_FILE, 0o600).catch((e: NodeJS.ErrnoException) => {
        throw exists(e, f.path, root);
      });
      try {
        for await (const chunk of reader.read(f)) await fh.write(chunk);
        // On the handle, not the path: nothing named can be swapped in between.
        await fh.chmod(f.mode);
        await fh.utimes(f.mtime, f.mtime);
      } finally {
        await fh.close();
      }
    }
    for (const l of plan.symlinks) {
      aborted();
      await symlink(l.target!, at(l.path)).catch((e: NodeJS.ErrnoException) => {
        throw exists(e, l.path, root);
      });
      await lutimes(at(l.path), l.mtime, l.mtime).catch(() => {});
    }
    // Directory modes and times last: writing into them changes their mtime and may need write access.
    // Every one is a directory made or checked above (lstat), and no link can have replaced it.
    for (const d of [...plan.directories].reverse()) {
      await chmod(at(d.path), d.mode);
      await utimes(at(d.path), d.mtime, d.mtime);
    }
    return { files: plan.files.length, directories: plan.directories.length, symlinks: plan.symlinks.length };
  } finally {
    await reader.close();
  }
}

/** mkdir, or an existing plain directory (merged into); anything else there, a symlink above all, is refused. */
async function makeDirectory(full: string, path: string): Promise<void> {
  try {
    await mkdir(full);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const st = await lstat(full);
    if (!st.isDirectory())
      throw new IsoError(
        'ISO_UNSAFE_ENTRY',
        `directory "${path}" of the image is already in ${full} as a ${st.isSymbolicLink() ? 'symlink' : 'non-directory'}; refusing to write through it (extract into an empty directory)`,
        { path, cause: e },
      );
  }
}

function exists(e: NodeJS.ErrnoException, path: string, root: string): unknown {
  if (e.code !== 'EEXIST' && e.code !== 'ELOOP') return e;
  return new IsoError(
    'ISO_NAME_COLLISION',
    `"${path}" already exists in ${root}; extract into an empty directory (an existing name is never replaced or followed)`,
    { path, cause: e },
  );
}
