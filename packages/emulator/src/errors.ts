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
  | 'PULL_FAILED'
  | 'SESSION_IMAGE_MISMATCH'
  | 'INTERRUPTED';

/**
 * The exit code of each error: 2 for input the user must fix, 3 for "not running", 4 for "another
 * command holds the instance", 130 for an interrupt, 1 for everything else.
 */
const EXIT_CODES: Partial<Record<EmulatorErrorCode, number>> = {
  CONFIG_INVALID: 2,
  CONFIG_FILE_NOT_FOUND: 2,
  PORT_BUSY: 2,
  HOST_UNSUPPORTED: 2,
  IMAGE_MISSING: 2,
  BASE_ENV_MISSING: 2,
  SESSION_IMAGE_MISMATCH: 2,
  NOT_RUNNING: 3,
  LOCK_BUSY: 4,
  INTERRUPTED: 130,
};

/** Base error of the CLI and its lifecycle; `code` is stable, `hint` says what to do. */
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

  get exitCode(): number {
    return EXIT_CODES[this.code] ?? 1;
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
