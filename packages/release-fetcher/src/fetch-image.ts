import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseDigest } from './digest.js';
import { FetchError } from './errors.js';
import { fetchArtifact } from './fetch-artifact.js';
import type { FetchImageOptions, FetchImageResult } from './fetch-context.js';
import { fetchLocal } from './fetch-local.js';
import { fetchRelease } from './fetch-release.js';
import { fetchUrl } from './fetch-url.js';
import { gitHubApi } from './github.js';
import { openNetwork } from './network.js';
import { describeSource, imageSourceSchema } from './sources.js';

export type { FetchImageOptions, FetchImageResult } from './fetch-context.js';

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
    // A URL needs no API: a bad API base (say plain http) is no reason to refuse it.
    if (source.kind === 'url') return await fetchUrl(source, network, options, userDigest);
    const api = gitHubApi(network, options);
    if (source.kind === 'release') return await fetchRelease(source, api, options, userDigest);
    return await fetchArtifact(source, api, options, userDigest);
  } finally {
    await network.close();
  }
}
