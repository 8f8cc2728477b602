import { copyFile, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { extractArtifactMember } from './artifact-zip.js';
import { sha256File } from '@stack/internal';
import { parseDigest, parseSha256Sidecar, type Sha256, sidecarUrl } from './digest.js';
import { download } from './download.js';
import { discardPart } from './part-file.js';
import { FetchError, isFetchError } from './errors.js';
import {
  type GitHubApi,
  apiHeaders,
  findRelease,
  findRunArtifact,
  gitHubApi,
  type GitHubOptions,
  runForPullRequest,
} from './github.js';
import { readText, requestFollowing } from './http-request.js';
import { type Network, openNetwork } from './network.js';
import type { Progress } from './progress.js';
import { withRetries } from './retry.js';
import { describeSource, type ImageSource, imageSourceSchema } from './sources.js';
import type { StallPolicy } from './stall-guard.js';

export interface FetchImageOptions extends GitHubOptions {
  source: ImageSource;
  /** Final path of the image; replaced only by a verified download (rename). */
  dest: string;
  /** sha256 the user vouches for; wins over any published digest, and is required for http:// URLs. */
  sha256?: string;
  onProgress?: (p: Progress) => void;
  onPhase?: (text: string) => void;
  onRetry?: (error: Error, attempt: number, resumeAt: number) => void;
  /** Attempts after a failure that may pass. @default 5 */
  retries?: number;
  /** First backoff delay in ms. @default 500 */
  backoff?: number;
  /** When a transfer counts as stalled. @default nothing, or under 1 KiB/s, for 30 s */
  stall?: StallPolicy;
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

const noDigest = (source: ImageSource) =>
  new FetchError(
    'FETCH_BAD_SOURCE',
    `no sha256 published for ${describeSource(source)}; pass the expected digest (--sha256) so the download can be verified`,
  );

/** Verifies nothing itself: writes `<dest>.sha256`, renames `from` over `dest`, makes both durable. */
async function install(from: string, dest: string, sha256: string): Promise<void> {
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

/** A published `sha256sum` sidecar: its digest for `name`, undefined when there is none (404/410). */
async function fetchSidecar(
  network: Network,
  url: string,
  name: string,
  options: { signal?: AbortSignal; headers?: Record<string, string>; privateHeaders?: Record<string, string> },
): Promise<string | undefined> {
  return withRetries(
    async () => {
      const res = await requestFollowing(url, {
        network,
        headers: options.headers,
        privateHeaders: options.privateHeaders,
        signal: options.signal,
      });
      if (res.status === 404 || res.status === 410) {
        res.discard();
        return undefined;
      }
      if (res.status !== 200) {
        res.discard();
        throw new FetchError('FETCH_HTTP', `the digest sidecar ${url} answered ${res.status}`, {
          status: res.status,
          url,
          retryable: res.status >= 500 || res.status === 429,
        });
      }
      const digest = parseSha256Sidecar(await readText(res, 64 * 1024), name);
      if (!digest)
        throw new FetchError('FETCH_BAD_SOURCE', `the digest sidecar ${url} names no sha256 for ${name}`, { url });
      return digest;
    },
    { retries: 2, signal: options.signal },
  );
}

/**
 * Downloads an image from any source into `<dest>.part` (resumable), checks its sha256, and only then
 * renames it over `dest`. A failed, interrupted or wrong download never touches the existing image.
 */
export async function fetchImage(options: FetchImageOptions): Promise<FetchImageResult> {
  const parsed = imageSourceSchema.safeParse(options.source);
  if (!parsed.success)
    throw new FetchError(
      'FETCH_BAD_SOURCE',
      `invalid image source: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'source'}: ${i.message}`).join('; ')}`,
    );
  const source = parsed.data;
  let userDigest: string | undefined;
  try {
    userDigest = options.sha256 ? parseDigest(options.sha256) : undefined;
  } catch (e) {
    throw new FetchError('FETCH_BAD_SOURCE', (e as Error).message, { cause: e });
  }
  await mkdir(dirname(options.dest), { recursive: true });
  options.onPhase?.(`resolving ${describeSource(source)}`);
  if (source.kind === 'local') return fetchLocal(source, options, userDigest);
  const network = await openNetwork(options);
  try {
    const api = gitHubApi(network, options);
    if (source.kind === 'url') return await fetchUrl(source, api, options, userDigest);
    if (source.kind === 'release') return await fetchRelease(source, api, options, userDigest);
    return await fetchArtifact(source, api, options, userDigest);
  } finally {
    await network.close();
  }
}

type Source<K extends ImageSource['kind']> = Extract<ImageSource, { kind: K }>;

const transfer = (options: FetchImageOptions) => ({
  signal: options.signal,
  retries: options.retries,
  backoff: options.backoff,
  stall: options.stall,
  onProgress: options.onProgress,
  onRetry: options.onRetry,
});

async function verifyAndInstall(
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

async function fetchLocal(
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

async function fetchUrl(
  source: Source<'url'>,
  api: GitHubApi,
  options: FetchImageOptions,
  userDigest: string | undefined,
): Promise<FetchImageResult> {
  const part = `${options.dest}.part`;
  const url = source.url;
  if (new URL(url).protocol === 'http:' && !userDigest) {
    // Anyone on the path can change an http download, and its sidecar with it.
    throw new FetchError(
      'FETCH_INSECURE',
      `${url} is plain http: anyone on the network path could change the image and its .sha256 sidecar; pass the expected digest with --sha256, or use an https URL`,
      { url },
    );
  }
  options.onPhase?.(`downloading ${describeSource(source)}`);
  if (userDigest) {
    const got = await download({
      ...transfer(options),
      url,
      network: api.network,
      headers: { 'user-agent': 'stack-emulator' },
      partFile: part,
    });
    return verifyAndInstall(source, options, got, userDigest, 'user');
  }
  // The sidecar is fetched while the download starts (one round trip less). Without one, or when it
  // cannot be fetched, the download is stopped; its reason is the error.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const sidecar = fetchSidecar(api.network, sidecarUrl(url), basename(new URL(url).pathname), {
    signal: options.signal,
    headers: { 'user-agent': 'stack-emulator' },
  });
  sidecar.then(
    (d) => d === undefined && stop.abort(),
    () => stop.abort(),
  );
  const downloaded = download({
    ...transfer(options),
    signal,
    url,
    network: api.network,
    headers: { 'user-agent': 'stack-emulator' },
    partFile: part,
  });
  downloaded.catch(() => {}); // awaited below, once the sidecar is known
  let want: string | undefined;
  try {
    want = await sidecar;
  } catch (e) {
    await downloaded.catch(() => {}); // the part stays for a resume
    throw e;
  }
  if (want === undefined) {
    // A download that failed on its own (a 404, a certificate) says more than the missing sidecar.
    const failed = await downloaded.then(
      () => undefined,
      (e: unknown) => e,
    );
    await discardPart(part);
    throw failed !== undefined && !(isFetchError(failed) && failed.code === 'FETCH_ABORTED')
      ? failed
      : noDigest(source);
  }
  return verifyAndInstall(source, options, await downloaded, want, 'sidecar');
}

async function fetchRelease(
  source: Source<'release'>,
  api: GitHubApi,
  options: FetchImageOptions,
  userDigest: string | undefined,
): Promise<FetchImageResult> {
  const release = await findRelease(api, source.repo, source.tag);
  const asset = release.assets.find((a) => a.name === source.asset);
  if (!asset)
    throw new FetchError(
      'FETCH_NOT_FOUND',
      `asset ${source.asset} not found in release ${source.tag} (it has: ${release.assets.map((a) => a.name).join(', ') || 'none'}); run \`stack-emulator list-releases\``,
    );
  const { headers, privateHeaders } = apiHeaders(api, 'application/octet-stream');
  let want = userDigest;
  let verifiedBy: FetchImageResult['verifiedBy'] = 'user';
  if (!want && asset.digest) {
    want = parseDigest(asset.digest);
    verifiedBy = 'release-digest';
  }
  const side = release.assets.find((a) => a.name === `${source.asset}.sha256`);
  if (!want && side) {
    want = await fetchSidecar(api.network, side.url, source.asset, { signal: options.signal, headers, privateHeaders });
    verifiedBy = 'sidecar';
  }
  if (!want) throw noDigest(source);
  options.onPhase?.(`downloading ${describeSource(source)}`);
  const got = await download({
    ...transfer(options),
    url: asset.url,
    network: api.network,
    headers,
    privateHeaders,
    partFile: `${options.dest}.part`,
    expectedSize: asset.size,
  });
  return verifyAndInstall(source, options, got, want, verifiedBy);
}

/** Workflow artifacts: a zip whose member carries a CRC-32; the image is hashed while extracted. */
async function fetchArtifact(
  source: Source<'run'> | Source<'pr'>,
  api: GitHubApi,
  options: FetchImageOptions,
  userDigest: string | undefined,
): Promise<FetchImageResult> {
  const runId = source.kind === 'run' ? source.runId : await runForPullRequest(api, source.repo, source.pr);
  const artifact = await findRunArtifact(api, source.repo, runId, source.artifact);
  const zip = `${options.dest}.zip.part`;
  const part = `${options.dest}.part`;
  options.onPhase?.(`downloading ${describeSource(source)}`);
  const { headers, privateHeaders } = apiHeaders(api);
  const r = await download({
    ...transfer(options),
    url: artifact.archive_download_url,
    network: api.network,
    headers,
    privateHeaders,
    partFile: zip,
    expectedSize: artifact.size_in_bytes > 0 ? artifact.size_in_bytes : undefined,
  });
  try {
    options.onPhase?.(`extracting ${source.file}`);
    const got = await extractArtifactMember(zip, source.file, part, { signal: options.signal });
    if (userDigest && got.sha256 !== userDigest)
      throw new FetchError(
        'FETCH_DIGEST_MISMATCH',
        `extracted image has sha256 ${got.sha256}, expected ${userDigest}; the current image was left as it was`,
      );
    await install(part, options.dest, got.sha256);
    await discardPart(zip);
    return {
      path: options.dest,
      sha256: got.sha256,
      size: got.size,
      verifiedBy: userDigest ? 'user' : 'zip-crc32',
      resumedFrom: r.resumedFrom,
    };
  } catch (e) {
    await rm(part, { force: true });
    // A complete download that cannot be extracted would fail the same way on every later pull.
    if (!(isFetchError(e) && e.code === 'FETCH_ABORTED')) await discardPart(zip);
    throw e;
  }
}
