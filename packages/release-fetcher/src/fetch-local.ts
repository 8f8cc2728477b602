import { copyFile, readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { sha256File } from '@stack/internal';
import { parseSha256Sidecar, type Sha256 } from './digest.js';
import { FetchError } from './errors.js';
import type { FetchImageOptions, FetchImageResult, Source } from './fetch-context.js';
import { install } from './install.js';

/** A local file, or a directory holding it, checked against its `.sha256` sidecar when there is one. */
export async function fetchLocal(
  source: Source<'local'>,
  options: FetchImageOptions,
  userDigest: string | undefined,
): Promise<FetchImageResult> {
  const part = `${options.dest}.part`;
  let file = source.path;
  if ((await stat(file).catch(() => undefined))?.isDirectory())
    file = join(file, source.file ?? basename(options.dest));
  if (!(await stat(file).catch(() => undefined))?.isFile())
    throw new FetchError('FETCH_BAD_SOURCE', `no image file at ${file}`);
  const sidecar = await readFile(`${file}.sha256`, 'utf8').then(
    (t) => parseSha256Sidecar(t, basename(file)),
    () => undefined,
  );
  const want = userDigest ?? sidecar;
  options.onPhase?.(`copying ${file}`);
  await copyFile(file, part);
  const got = (await sha256File(part, options.signal)) as Sha256;
  if (want && got !== want) {
    await rm(part, { force: true });
    throw new FetchError(
      'FETCH_DIGEST_MISMATCH',
      `${file} has sha256 ${got}, expected ${want}; the current image was left as it was`,
    );
  }
  await install(part, options.dest, got);
  return {
    path: options.dest,
    sha256: got,
    size: (await stat(options.dest)).size,
    verifiedBy: userDigest ? 'user' : sidecar ? 'sidecar' : 'none',
    resumedFrom: 0,
  };
}
