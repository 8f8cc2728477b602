/** Stable machine-readable codes of every error this package throws. */
export type IsoErrorCode =
  | 'ISO_INVALID_OPTION'
  | 'ISO_INVALID_NAME'
  | 'ISO_NAME_COLLISION'
  | 'ISO_UNSUPPORTED_ENTRY'
  | 'ISO_SOURCE_ERROR'
  | 'ISO_SIZE_MISMATCH'
  | 'ISO_TOO_LARGE'
  | 'ISO_MALFORMED_IMAGE'
  /** Extraction: an entry that would land, or point, outside the destination, or write through a link. */
  | 'ISO_UNSAFE_ENTRY'
  | 'ISO_NOT_FOUND';

const brand = Symbol.for('@stack/iso9660/error');

/** Base class of every error thrown by this package; `code` is stable, `path` names the entry. */
export class IsoError extends Error {
  readonly code: IsoErrorCode;
  /** The entry or image path the error is about, when there is one. */
  readonly path: string | undefined;
  constructor(code: IsoErrorCode, message: string, options?: { cause?: unknown; path?: string }) {
    super(message, options);
    this.code = code;
    this.path = options?.path;
    Object.defineProperty(this, 'name', { value: 'IsoError', enumerable: false, configurable: true });
    Object.defineProperty(this, brand, { value: true });
  }
}

export function isIsoError(error: unknown): error is IsoError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[brand] === true;
}
