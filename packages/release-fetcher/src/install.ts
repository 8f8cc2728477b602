import { rename, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { fsyncDirectory, fsyncFile, writeFileAtomic } from '@stack/internal';
import { FetchError } from './errors.js';
import type { FetchImageOptions, FetchImageResult } from './fetch-context.js';
import { discardPart } from './part-file.js';
import { describeSource, type ImageSource } from './sources.js';

/** The file operations of an install, injected by tests to see their order. */
export interface InstallIo {
  fsyncFile(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  fsyncDirectory(dir: string): Promise<void>;
  writeFileAtomic(path: string, data: string): Promise<void>;
}

const io: InstallIo = {
  fsyncFile,
  rename,
  fsyncDirectory,
  writeFileAtomic: (path, data) => writeFileAtomic(path, data),
};

/**
 * Verifies nothing itself: renames `from` over `dest` and writes `<dest>.sha256`, so that a power
 * cut at any point leaves the old image or the complete new one under the name, never a partial one.
 * The data is synced before the rename (a download's sink synced it already; an extracted or copied
 * file was not), the directory after it (a rename is durable only once its directory is). The
 * sidecar follows, atomically; a crash before it leaves the old one, which is older than the new
 * image and therefore not trusted for it (see the emulator's knownImageDigest).
 */
export async function install(from: string, dest: string, sha256: string, ops: InstallIo = io): Promise<void> {
  await ops.fsyncFile(from);
  await ops.rename(from, dest);
  await ops.fsyncDirectory(dirname(dest));
  await ops.writeFileAtomic(`${dest}.sha256`, `${sha256}  ${basename(dest)}\n`);
}

/** Checks a download's digest: a match is installed over `dest`, a mismatch discarded. */
export async function verifyAndInstall(
  source: ImageSource,
  options: FetchImageOptions,
  got: { size: number; sha256: string; resumedFrom: number },
  want: string,
  verifiedBy: FetchImageResult['verifiedBy'],
): Promise<FetchImageResult> {
  const part = `${options.dest}.part`;
  if (got.sha256 !== want) {
    await discardPart(part);
    throw new FetchError(
      'FETCH_DIGEST_MISMATCH',
      `downloaded ${describeSource(source)} has sha256 ${got.sha256}, expected ${want}; it was discarded and the current image left as it was`,
    );
  }
  await rm(`${part}.json`, { force: true });
  await install(part, options.dest, got.sha256);
  return { path: options.dest, sha256: got.sha256, size: got.size, verifiedBy, resumedFrom: got.resumedFrom };
}
