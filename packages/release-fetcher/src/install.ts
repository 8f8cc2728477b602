import { open, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { FetchError } from './errors.js';
import type { FetchImageOptions, FetchImageResult } from './fetch-context.js';
import { discardPart } from './part-file.js';
import { describeSource, type ImageSource } from './sources.js';

/** Verifies nothing itself: writes `<dest>.sha256`, renames `from` over `dest`, makes both durable. */
export async function install(from: string, dest: string, sha256: string): Promise<void> {
  const side = `${dest}.sha256`;
  const tmpSide = `${side}.${process.pid}.tmp`;
  await writeFile(tmpSide, `${sha256}  ${basename(dest)}\n`);
  await rename(from, dest);
  await rename(tmpSide, side);
  // The renames are only durable once the directory is (POSIX keeps entries in the directory's data).
  const dir = await open(dirname(dest), 'r').catch(() => undefined);
  await dir?.sync().catch(() => {});
  await dir?.close();
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
