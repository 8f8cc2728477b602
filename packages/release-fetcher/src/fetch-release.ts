import { parseDigest } from './digest.js';
import { fetchSidecar } from './digest-sidecar.js';
import { download } from './download.js';
import { FetchError } from './errors.js';
import { type FetchImageOptions, type FetchImageResult, noDigest, type Source, transfer } from './fetch-context.js';
import { apiHeaders, findRelease, type GitHubApi } from './github.js';
import { verifyAndInstall } from './install.js';
import { describeSource } from './sources.js';

/** A release asset, verified by the digest the user passes, GitHub's, or the release's `.sha256` asset. */
export async function fetchRelease(
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
