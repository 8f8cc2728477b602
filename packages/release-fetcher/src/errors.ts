export type FetchErrorCode =
  | 'FETCH_HTTP'
  | 'FETCH_AUTH_REQUIRED'
  | 'FETCH_UNAUTHORIZED'
  | 'FETCH_FORBIDDEN'
  | 'FETCH_RATE_LIMITED'
  | 'FETCH_NOT_FOUND'
  | 'FETCH_NETWORK'
  | 'FETCH_PROTOCOL'
  | 'FETCH_DISK'
  | 'FETCH_DIGEST_MISMATCH'
  | 'FETCH_BAD_ARCHIVE'
  | 'FETCH_BAD_SOURCE'
  | 'FETCH_ABORTED';

const brand = Symbol.for('@stack/release-fetcher/error');

/** Base error of this package; `code` is stable. */
export class FetchError extends Error {
  readonly code: FetchErrorCode;
  /** HTTP status when the server answered. */
  readonly status: number | undefined;
  /** For FETCH_RATE_LIMITED: when the limit resets. */
  readonly resetAt: Date | undefined;
  constructor(code: FetchErrorCode, message: string, options: { cause?: unknown; status?: number; resetAt?: Date } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.resetAt = options.resetAt;
    Object.defineProperty(this, 'name', { value: 'FetchError', enumerable: false, configurable: true });
    Object.defineProperty(this, brand, { value: true });
  }
}

export function isFetchError(e: unknown): e is FetchError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[brand] === true;
}
