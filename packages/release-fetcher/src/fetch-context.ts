import { FetchError } from './errors.js';
import type { GitHubOptions } from './github.js';
import type { Progress } from './progress.js';
import { describeSource, type ImageSource } from './sources.js';
import type { StallPolicy } from './stall-guard.js';

// What the fetcher of every kind of source shares: the options, the result, the transfer settings.

export interface FetchImageOptions extends GitHubOptions {
  source: ImageSource;
  /** Final path of the image; replaced only by a verified download (rename). */
  dest: string;
  /** sha256 the user vouches for; wins over any published digest, and is required for http:// URLs. */
  sha256?: string;
  onProgress?: (p: Progress) => void;
  onPhase?: (text: string) => void;
  onRetry?: (error: Error, attempt: number, resumeAt: number) => void;
  /** Told when a partial download's resume record is not valid, and the download starts over. @default nothing */
  onWarn?: (text: string) => void;
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

/** One kind of source, validated. */
export type Source<K extends ImageSource['kind']> = Extract<ImageSource, { kind: K }>;

/** The settings of a download, from the fetch's options. */
export const transfer = (options: FetchImageOptions) => ({
  signal: options.signal,
  retries: options.retries,
  backoff: options.backoff,
  stall: options.stall,
  onProgress: options.onProgress,
  onRetry: options.onRetry,
  onWarn: options.onWarn,
});

/** Refusing a source that publishes no digest: an image that cannot be verified is never installed. */
export const noDigest = (source: ImageSource) =>
  new FetchError(
    'FETCH_BAD_SOURCE',
    `no sha256 published for ${describeSource(source)}; pass the expected digest (--sha256) so the download can be verified`,
  );
