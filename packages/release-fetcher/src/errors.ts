import { CodedError, errorGuard } from '@stack/internal';

export type FetchErrorCode =
  | 'FETCH_HTTP'
  | 'FETCH_AUTH_REQUIRED'
  | 'FETCH_UNAUTHORIZED'
  | 'FETCH_FORBIDDEN'
  | 'FETCH_RATE_LIMITED'
  | 'FETCH_NOT_FOUND'
  | 'FETCH_NETWORK'
  | 'FETCH_CERTIFICATE'
  | 'FETCH_PROXY'
  | 'FETCH_STALLED'
  | 'FETCH_INSECURE'
  | 'FETCH_PROTOCOL'
  | 'FETCH_DISK'
  | 'FETCH_DIGEST_MISMATCH'
  | 'FETCH_BAD_ARCHIVE'
  | 'FETCH_BAD_SOURCE'
  | 'FETCH_ABORTED';

export interface FetchErrorOptions {
  cause?: unknown;
  /** HTTP status when the server answered. */
  status?: number;
  /** For FETCH_RATE_LIMITED: when the limit resets. */
  resetAt?: Date;
  /** The URL the failure is about. */
  url?: string;
  /** True when another attempt may succeed (a reset, a 5xx, a stall). @default false */
  retryable?: boolean;
}

/** Base error of this package; `code` is stable. */
export class FetchError extends CodedError<FetchErrorCode> {
  readonly status: number | undefined;
  readonly resetAt: Date | undefined;
  readonly url: string | undefined;
  readonly retryable: boolean;
  constructor(code: FetchErrorCode, message: string, options: FetchErrorOptions = {}) {
    super(code, message, { cause: options.cause });
    this.status = options.status;
    this.resetAt = options.resetAt;
    this.url = options.url;
    this.retryable = options.retryable ?? false;
  }
}

/** True for this package's errors, also from another copy of it (a brand, not `instanceof`). */
export const isFetchError = errorGuard(FetchError, '@stack/release-fetcher');
