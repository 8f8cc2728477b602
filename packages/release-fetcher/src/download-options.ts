import type { Network, NetworkOptions } from './network.js';
import type { Progress } from './progress.js';
import type { StallPolicy } from './stall-guard.js';

export interface DownloadOptions extends NetworkOptions {
  url: string;
  /** An opened network to reuse (see openNetwork). @default one opened for this call from the NetworkOptions */
  network?: Network;
  /** Sent to the first URL's origin only (e.g. Authorization): dropped when a redirect leaves it. */
  privateHeaders?: Record<string, string>;
  /** Sent everywhere (e.g. Accept). */
  headers?: Record<string, string>;
  /** Where the bytes go while downloading; a `<partFile>.json` record beside it allows resuming. */
  partFile: string;
  /** Expected size, when known (a mismatch fails before any byte is written). */
  expectedSize?: number;
  signal?: AbortSignal;
  /** Stall detection: nothing, or too little, for `windowMs` fails the attempt. @default 30 s, 1 KiB/s */
  stall?: StallPolicy;
  /** Attempts after a failure that may pass (resets, 5xx, 408/429, stalls, repeated 416). @default 5 */
  retries?: number;
  /** First backoff delay in ms, doubled each attempt (with jitter), at most 30 s. @default 500 */
  backoff?: number;
  onProgress?: (p: Progress) => void;
  /** Called when an attempt fails and another follows. */
  onRetry?: (error: Error, attempt: number, resumeAt: number) => void;
  /** Told when the partial download's record is not valid, and the download starts over. @default nothing */
  onWarn?: (text: string) => void;
}

export interface DownloadResult {
  partFile: string;
  size: number;
  sha256: string;
  /** Bytes that were already there from an earlier attempt or process. */
  resumedFrom: number;
}
