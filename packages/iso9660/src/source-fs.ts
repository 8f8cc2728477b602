import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { IsoError } from './errors.js';
import type { IsoEntry } from './tree.js';

/**
 * Lists a directory tree as entries: files (read later, by path), directories and symlinks (never
 * followed). Special files, unreadable directories and directory loops (bind mounts) are errors.
 * Modes keep their permission bits (the exec bit matters for scripts); owners become root.
 * The walk uses synchronous calls: an async lstat costs a thread-pool round trip each, which made a
 * 4096-file tree take 0.3 s to list instead of 0.02 s.
 */
export async function entriesFromDirectory(root: string, options: { signal?: AbortSignal } = {}): Promise<IsoEntry[]> {
  const out: IsoEntry[] = [];
  let rootStat: ReturnType<typeof lstatSync>;
  try {
    rootStat = lstatSync(root);
  } catch (e) {
    throw new IsoError('ISO_SOURCE_ERROR', `cannot read source directory "${root}": ${(e as Error).message}`, {
      cause: e,
      path: root,
    });
  }
  if (!rootStat.isDirectory())
    throw new IsoError('ISO_SOURCE_ERROR', `source "${root}" is not a directory`, { path: root });
  const walk = (abs: string, rel: string, ancestors: Set<string>) => {
    options.signal?.throwIfAborted();
    let names: string[];
    try {
      names = readdirSync(abs).sort();
    } catch (e) {
      throw new IsoError('ISO_SOURCE_ERROR', `cannot read directory "${abs}": ${(e as Error).message}`, {
        cause: e,
        path: abs,
      });
    }
    for (const name of names) {
      const full = join(abs, name);
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(full);
      const common = { path, mode: st.mode & 0o7777, mtime: st.mtime };
      if (st.isSymbolicLink()) out.push({ type: 'symlink', target: readlinkSync(full), ...common });
      else if (st.isFile()) out.push({ type: 'file', data: { size: st.size, path: full }, ...common });
      else if (st.isDirectory()) {
        const key = `${st.dev}:${st.ino}`;
        if (ancestors.has(key))
          throw new IsoError('ISO_UNSUPPORTED_ENTRY', `"${full}" is a directory loop (it contains itself)`, {
            path: full,
          });
        out.push({ type: 'directory', ...common });
        walk(full, path, new Set([...ancestors, key]));
      } else {
        const kind = st.isFIFO()
          ? 'a FIFO'
          : st.isSocket()
            ? 'a socket'
            : st.isBlockDevice()
              ? 'a block device'
              : 'a character device';
        throw new IsoError(
          'ISO_UNSUPPORTED_ENTRY',
          `"${full}" is ${kind}; an ISO image can hold only files, directories and symlinks`,
          { path: full },
        );
      }
    }
  };
  walk(root, '', new Set([`${rootStat.dev}:${rootStat.ino}`]));
  return out;
}
