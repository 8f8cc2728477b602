import { constants } from 'node:fs';
import { copyFile, link, rename, rm } from 'node:fs/promises';
import { tempPathFor } from '@stack/internal';

/**
 * Makes `dest` a hard link of `src` (free, and it keeps the file alive when `src` is replaced or
 * deleted); across filesystems, or where links are refused, a copy (a reflink where the filesystem
 * can: APFS, Btrfs, XFS) made under a temp name and renamed. Returns how.
 */
export async function linkOrCopy(src: string, dest: string): Promise<'link' | 'copy'> {
  try {
    await link(src, dest);
    return 'link';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw e;
  }
  const tmp = tempPathFor(dest);
  try {
    await copyFile(src, tmp, constants.COPYFILE_FICLONE);
    await rename(tmp, dest);
    return 'copy';
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
