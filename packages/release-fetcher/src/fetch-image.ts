import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseDigest, parseSha256Sidecar, sha256File } from './digest.js';
import { discardPart, download } from './download.js';
import { FetchError, isFetchError } from './errors.js';
import { httpGetText } from './http-get.js';
import { apiHeaders, findRunArtifact, getRelease, type GitHubOptions, runForPullRequest } from './github.js';
import type { Progress } from './progress.js';
import { describeSource, type ImageSource, imageSourceSchema } from './sources.js';
import { extractZipEntry, isSafeEntryName, listZip } from './zip.js';

export interface FetchImageOptions extends GitHubOptions {
  source: ImageSource;
  /** Final path of the image; replaced only by a verified download (rename). */
  dest: string;
  /** sha256 the user vouches for; wins over any published digest. */
  sha256?: string;
  onProgress?: (p: Progress) => void;
  onPhase?: (text: string) => void;
  onRetry?: (error: Error, attempt: number, resumeAt: number) => void;
  /** @default 5 */
  retries?: number;
}

export interface FetchImageResult {
  path: string;
  sha256: string;
  size: number;
  /** How the digest was checked. */
  verifiedBy: 'user' | 'release-digest' | 'sidecar' | 'zip-crc32' | 'none';
  /** Bytes reused from an interrupted earlier download. */
  resumedFrom: number;
}

const noDigest = (source: ImageSource) => new FetchError('FETCH_BAD_SOURCE', `no sha256 published for ${describeSource(source)}; pass the expected digest (--sha256) so the download can be verified`);

async function fetchSidecar(url: string, name: string, options: FetchImageOptions, headers: Record<string, string>, privateHeaders: Record<string, string> = {}): Promise<string | undefined> {
  // Sidecars are small and public beside the asset; a missing one (404) or an unreachable one means none.
  const text = await httpGetText(url, { headers, privateHeaders, signal: options.signal }).catch(() => undefined);
  return text === undefined ? undefined : parseSha256Sidecar(text, name);
}

/** Verifies, writes `<dest>.sha256`, and renames `from` over `dest`: the old image stays until then. */
async function install(from: string, dest: string, sha256: string): Promise<void> {
  const side = `${dest}.sha256`;
  const tmpSide = `${side}.${process.pid}.tmp`;
  await writeFile(tmpSide, `${sha256}  ${basename(dest)}\n`);
  await rename(from, dest);
  await rename(tmpSide, side);
}

/**
 * Downloads an image from any source into `<dest>.part` (resumable), checks its sha256, and only then
 * renames it over `dest`. A failed, interrupted or wrong download never touches the existing image.
 */
export async function fetchImage(options: FetchImageOptions): Promise<FetchImageResult> {
  const source = imageSourceSchema.parse(options.source);
  const dest = options.dest;
  await mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const userDigest = options.sha256 ? parseDigest(options.sha256) : undefined;
  options.onPhase?.(`resolving ${describeSource(source)}`);
  const common = { signal: options.signal, retries: options.retries, onProgress: options.onProgress, onRetry: options.onRetry };

  if (source.kind === 'local') {
    let file = source.path;
    if ((await stat(file).catch(() => undefined))?.isDirectory()) file = join(file, source.file ?? basename(dest));
    if (!(await stat(file).catch(() => undefined))?.isFile()) throw new FetchError('FETCH_BAD_SOURCE', `no image file at ${file}`);
    const sidecar = await readFile(`${file}.sha256`, 'utf8').then((t) => parseSha256Sidecar(t, basename(file)), () => undefined);
    const want = userDigest ?? sidecar;
    options.onPhase?.(`copying ${file}`);
    await copyFile(file, part);
    const got = await sha256File(part, options.signal);
    if (want && got !== want) {
      await rm(part, { force: true });
      throw new FetchError('FETCH_DIGEST_MISMATCH', `${file} has sha256 ${got}, expected ${want}; the current image was left as it was`);
    }
    await install(part, dest, got);
    return { path: dest, sha256: got, size: (await stat(dest)).size, verifiedBy: userDigest ? 'user' : sidecar ? 'sidecar' : 'none', resumedFrom: 0 };
  }

  if (source.kind === 'release' || source.kind === 'url') {
    let url: string;
    let want: string | undefined = userDigest;
    let verifiedBy: FetchImageResult['verifiedBy'] = 'user';
    let privateHeaders: Record<string, string> = {};
    let headers: Record<string, string> = {};
    let size: number | undefined;
    if (source.kind === 'release') {
      const release = await getRelease(source.repo, source.tag, options);
      const asset = release.assets.find((a) => a.name === source.asset);
      if (!asset) throw new FetchError('FETCH_NOT_FOUND', `asset ${source.asset} not found in release ${source.tag} (it has: ${release.assets.map((a) => a.name).join(', ') || 'none'}); run \`stack-emulator list-releases\``);
      url = asset.url;
      size = asset.size;
      const all = apiHeaders(options, 'application/octet-stream');
      privateHeaders = all.authorization ? { authorization: all.authorization } : {};
      headers = { accept: 'application/octet-stream', 'user-agent': 'stack-emulator' };
      if (!want && asset.digest) {
        want = parseDigest(asset.digest);
        verifiedBy = 'release-digest';
      }
      const side = release.assets.find((a) => a.name === `${source.asset}.sha256`);
      if (!want && side) {
        want = await fetchSidecar(side.url, source.asset, options, headers, privateHeaders);
        verifiedBy = 'sidecar';
      }
    } else {
      url = source.url;
    }
    let sidecar: Promise<string | undefined> | undefined;
    let signal = options.signal;
    if (!want && source.kind === 'url') {
      // The sidecar is fetched while the download starts (one round trip less); without one, the
      // download is stopped and discarded.
      const stop = new AbortController();
      signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
      sidecar = fetchSidecar(`${url}.sha256`, basename(new URL(url).pathname), options, {}).then((digest) => {
        if (!digest) stop.abort();
        return digest;
      });
      verifiedBy = 'sidecar';
    } else if (!want) {
      throw noDigest(source);
    }
    options.onPhase?.(`downloading ${describeSource(source)}`);
    const downloaded = download({ ...common, signal, url, headers, privateHeaders, partFile: part, expectedSize: size });
    if (sidecar) {
      downloaded.catch(() => {}); // awaited below, once the sidecar is known
      want = await sidecar;
      if (!want && !options.signal?.aborted) {
        // A download that failed on its own (a 404...) says more than the missing sidecar.
        const failed = await downloaded.then(() => undefined, (e: unknown) => e);
        await discardPart(part);
        throw failed !== undefined && !(isFetchError(failed) && failed.code === 'FETCH_ABORTED') ? failed : noDigest(source);
      }
    }
    const r = await downloaded;
    if (r.sha256 !== want) {
      await discardPart(part);
      throw new FetchError('FETCH_DIGEST_MISMATCH', `downloaded ${describeSource(source)} has sha256 ${r.sha256}, expected ${want}; it was discarded and the current image left as it was`);
    }
    await rm(`${part}.json`, { force: true });
    await install(part, dest, r.sha256);
    return { path: dest, sha256: r.sha256, size: r.size, verifiedBy, resumedFrom: r.resumedFrom };
  }

  // Artifacts: a zip whose members carry CRC-32s; the image inside is hashed after extraction.
  const runId = source.kind === 'run' ? source.runId : await runForPullRequest(source.repo, source.pr, options);
  const artifact = await findRunArtifact(source.repo, runId, source.artifact, options);
  const zip = `${dest}.zip.part`;
  options.onPhase?.(`downloading ${describeSource(source)}`);
  const all = apiHeaders(options, 'application/vnd.github+json');
  const r = await download({ ...common, url: artifact.archive_download_url, headers: { accept: all.accept!, 'user-agent': 'stack-emulator' }, privateHeaders: { authorization: all.authorization! }, partFile: zip, expectedSize: artifact.size_in_bytes > 0 ? artifact.size_in_bytes : undefined });
  try {
    const entries = await listZip(zip);
    for (const e of entries) if (!/\/$/.test(e.name) && !isSafeEntryName(e.name)) throw new FetchError('FETCH_BAD_ARCHIVE', `artifact member "${e.name}" would be written outside the destination; refusing the archive`);
    const entry = entries.find((e) => basename(e.name) === source.file && !e.name.endsWith('/'));
    if (!entry) throw new FetchError('FETCH_BAD_ARCHIVE', `artifact ${source.artifact} holds no ${source.file} (it has: ${entries.map((e) => e.name).join(', ')})`);
    options.onPhase?.(`extracting ${entry.name}`);
    await extractZipEntry(zip, entry, part);
    const got = await sha256File(part, options.signal);
    if (userDigest && got !== userDigest) throw new FetchError('FETCH_DIGEST_MISMATCH', `extracted image has sha256 ${got}, expected ${userDigest}; the current image was left as it was`);
    await install(part, dest, got);
    await discardPart(zip);
    return { path: dest, sha256: got, size: entry.size, verifiedBy: userDigest ? 'user' : 'zip-crc32', resumedFrom: r.resumedFrom };
  } catch (e) {
    await rm(part, { force: true });
    if (e instanceof FetchError && (e.code === 'FETCH_BAD_ARCHIVE' || e.code === 'FETCH_DIGEST_MISMATCH')) await discardPart(zip);
    throw e;
  }
}
