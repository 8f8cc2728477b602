import { CodedError, errorGuard } from '@stack/internal';

/** Stable codes of {@link BuildError}. */
export type BuildErrorCode =
  'IMAGE_BUILD_FAILED' | 'IMAGE_PROVISION_FAILED' | 'IMAGE_PROVISION_TIMEOUT' | 'IMAGE_INVALID_APPLIANCE';

/** The one error type of this package: a stable `code`, the message naming the file or step, and `cause`. */
export class BuildError extends CodedError<BuildErrorCode> {}

/** True for a BuildError, also one from another copy of this package (a brand, not `instanceof`). */
export const isBuildError = errorGuard(BuildError, '@stack/emulator-image');
