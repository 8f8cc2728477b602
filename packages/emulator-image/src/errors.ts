/** Stable codes of {@link BuildError}. */
export type BuildErrorCode = 'IMAGE_BUILD_FAILED' | 'IMAGE_PROVISION_FAILED' | 'IMAGE_PROVISION_TIMEOUT' | 'IMAGE_INVALID_APPLIANCE';

const brand = Symbol.for('@stack/emulator-image/error');

/** The one error type of this package: a stable `code`, the message naming the file or step, and `cause`. */
export class BuildError extends Error {
  readonly code: BuildErrorCode;
  constructor(code: BuildErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, 'name', { value: new.target.name, enumerable: false, configurable: true });
    Object.defineProperty(this, brand, { value: true });
  }
}

/** True for a BuildError, also one from another copy of this package (a brand, not `instanceof`). */
export function isBuildError(e: unknown): e is BuildError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[brand] === true;
}
