import { CodedError, errorGuard } from '@stack/internal';

/** Stable codes of the errors this package throws. */
export type QemuArgvErrorCode =
  | 'ARGV_SOCKET_PATH_TOO_LONG'
  | 'ARGV_UNSAFE_SOCKET_DIR'
  /** A VM spec that cannot be built (a caller's mistake, e.g. arm64 without firmware). */
  | 'ARGV_INVALID_SPEC'
  /** No runnable QEMU binary for the architecture. */
  | 'ARGV_QEMU_NOT_FOUND'
  /** QEMU's version banner could not be read. */
  | 'ARGV_BAD_VERSION'
  /** An accelerator was asked for that this QEMU does not list. */
  | 'ARGV_ACCEL_UNSUPPORTED';

/** Base error of this package; `code` is stable, `path` names the file it is about. */
export class QemuArgvError extends CodedError<QemuArgvErrorCode> {
  readonly path: string | undefined;
  constructor(code: QemuArgvErrorCode, message: string, options: { cause?: unknown; path?: string } = {}) {
    super(code, message, { cause: options.cause });
    this.path = options.path;
  }
}

/** True for this package's errors, also from another copy of it (a brand, not `instanceof`). */
export const isQemuArgvError = errorGuard(QemuArgvError, '@stack/qemu-argv');
