import { rm } from 'node:fs/promises';
import { extractArtifactMember } from './artifact-zip.js';
import { download } from './download.js';
import { FetchError, isFetchError } from './errors.js';
import { type FetchImageOptions, type FetchImageResult, type Source, transfer } from './fetch-context.js';
import { apiHeaders, findRunArtifact, type GitHubApi } from './github.js';
import { runForPullRequest } from './pull-request-run.js';
import { install } from './install.js';
import { discardPart } from './part-file.js';
import { describeSource } from './sources.js';

/** Workflow artifacts: a zip whose member carries a CRC-32; the image is hashed while extracted. */
export async function fetchArtifact(
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
