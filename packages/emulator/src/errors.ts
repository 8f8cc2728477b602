import { CodedError, errorGuard } from '@stack/internal';

export type EmulatorErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_FILE_NOT_FOUND'
  | 'PORT_BUSY'
  | 'LOCK_BUSY'
  | 'HOST_UNSUPPORTED'
  | 'IMAGE_MISSING'
  | 'BASE_ENV_MISSING'
  | 'QEMU_FAILED'
  | 'SNAPSHOT_FAILED'
  | 'CAPTURE_FAILED'
  | 'SNAPSHOT_UNSUPPORTED'
  | 'GUEST_FAILED'
  | 'ROTATION_FAILED'
  | 'NOT_HEALTHY'
  | 'NOT_RUNNING'
  | 'STOP_REFUSED'
  | 'ALREADY_RUNNING'
  | 'PROJECT_INIT_FAILED'
  | 'HOST_SHARE_FAILED'
  | 'SHARE_INVALID'
  | 'SHARE_TOO_WIDE'
  | 'PULL_FAILED'
  | 'SESSION_IMAGE_MISMATCH'
  | 'ACCEL_UNUSABLE'
  | 'DISK_FULL'
  | 'INSUFFICIENT_MEMORY'
  | 'CHECKPOINT_NOT_FOUND'
  | 'CHECKPOINT_EXISTS'
  | 'CHECKPOINT_INCOMPATIBLE'
  | 'CHECKPOINT_FAILED'
  | 'INTERRUPTED';

/** Base error of the runtime; `code` is stable, `hint` says what to do. */
export class EmulatorError extends CodedError<EmulatorErrorCode> {
  readonly hint: string | undefined;
  /** True when the failure may not repeat (a timeout under load), as opposed to a broken input. */
  readonly transient: boolean;
  constructor(
    code: EmulatorErrorCode,
    message: string,
    options: { cause?: unknown; hint?: string; transient?: boolean } = {},
  ) {
    super(code, message, { cause: options.cause });
    this.hint = options.hint;
    this.transient = options.transient ?? false;
  }
}

/** True for this package's errors, also from another copy of it (a brand, not `instanceof`). */
export const isEmulatorError = errorGuard(EmulatorError, '@stack/emulator');

/** The message of any error, with its causes, on one line each. */
export function describeError(e: unknown): string {
  const lines: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur && depth < 4; depth++) {
    const msg = cur instanceof Error ? cur.message : String(cur);
    if (!lines.some((l) => l.includes(msg))) lines.push(depth === 0 ? msg : `  caused by: ${msg}`);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return lines.join('\n');
}
