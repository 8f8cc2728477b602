import { IsoError } from './errors.js';
import { linkEscape } from './link-target.js';
import type { IsoListing } from './reader.js';

/** What an extraction creates, in the order it must: directories, then files, then symlinks. */
export interface ExtractionPlan {
  /** Parents before children. */
  directories: IsoListing[];
  files: IsoListing[];
  /** Created last, so nothing is ever written through one (a crafted image cannot redirect a write). */
  symlinks: IsoListing[];
}

const parentOf = (path: string) => path.slice(0, path.lastIndexOf('/'));

/**
 * Sans-I/O: checks a listing before anything is written and orders it. Refused, with the entry named:
 * - two entries with one path (ISO_NAME_COLLISION): a symlink `a` and a directory `a` would otherwise
 *   send the directory's files wherever the link points;
 * - an entry whose parent is not a directory of the image (ISO_UNSAFE_ENTRY);
 * - a symlink whose target leaves the root, absolutely, by `..` or through other links of the image
 *   (ISO_UNSAFE_ENTRY), unless `keepEscapingSymlinks`: then it is written as it is, and never followed.
 */
export function planExtraction(
  listing: readonly IsoListing[],
  options: { keepEscapingSymlinks: boolean },
): ExtractionPlan {
  const byPath = new Map<string, IsoListing>();
  const links = new Map<string, string>();
  const plan: ExtractionPlan = { directories: [], files: [], symlinks: [] };
  for (const e of listing) {
    // The reader refuses such names already; checked again here, where a listing becomes paths on disk.
    const names = e.path.split('/').slice(1);
    if (!e.path.startsWith('/') || names.some((n) => n === '' || n === '.' || n === '..' || n.includes('\0')))
      throw new IsoError('ISO_UNSAFE_ENTRY', `unsafe path ${JSON.stringify(e.path)} in the image`, { path: e.path });
    if (byPath.has(e.path))
      throw new IsoError(
        'ISO_NAME_COLLISION',
        `the image has two entries named "${e.path}" (${byPath.get(e.path)!.type} and ${e.type}); refusing to extract it`,
        { path: e.path },
      );
    const parent = parentOf(e.path);
    if (parent !== '' && byPath.get(parent)?.type !== 'directory')
      throw new IsoError(
        'ISO_UNSAFE_ENTRY',
        `"${e.path}" is not inside a directory of the image (its parent "${parent}" is ${byPath.get(parent)?.type ?? 'missing'}); refusing to extract it`,
        { path: e.path },
      );
    byPath.set(e.path, e);
    if (e.type === 'directory') plan.directories.push(e);
    else if (e.type === 'file') plan.files.push(e);
    else {
      if (!e.target) throw new IsoError('ISO_UNSAFE_ENTRY', `symlink "${e.path}" has no target`, { path: e.path });
      links.set(e.path, e.target);
      plan.symlinks.push(e);
    }
  }
  if (!options.keepEscapingSymlinks) {
    for (const l of plan.symlinks) {
      const why = linkEscape(l.path, links);
      if (why === undefined) continue;
      const how =
        why === 'absolute'
          ? 'is absolute (it would name a path on this host)'
          : why === 'parent'
            ? 'climbs out of the extraction directory with ".."'
            : 'does not resolve (a loop of symlinks)';
      throw new IsoError(
        'ISO_UNSAFE_ENTRY',
        `symlink "${l.path}" -> "${l.target}" ${how}; refusing to extract it (keepEscapingSymlinks, or --keep-escaping-symlinks, writes such links as they are)`,
        { path: l.path },
      );
    }
  }
  return plan;
}
