import { CodedError, errorGuard } from '@stack/internal';

export type RotationErrorCode = 'ROTATION_HOOK_FAILED' | 'ROTATION_AGENT_FAILED' | 'ROTATION_INVALID_OPTIONS';

/** Base class of every error of this package; `code` is stable. Messages never contain secret values. */
export class RotationError extends CodedError<RotationErrorCode> {}

/** True for this package's errors, also from another copy of it (a brand, not `instanceof`). */
export const isRotationError = errorGuard(RotationError, '@stack/secret-rotation');

/** The guest hook ran and refused or failed ("the guest said no"). */
export class RotationHookError extends RotationError {
  readonly hook: string;
  readonly exitCode: number | null;
  readonly signal: number | null;
  /** The hook's stderr with every secret value replaced by `<redacted>`. */
  readonly stderr: string;
  constructor(hook: string, exitCode: number | null, signal: number | null, stderr: string) {
    const how = exitCode !== null ? `exited with ${exitCode}` : `was killed by signal ${signal}`;
    super(
      'ROTATION_HOOK_FAILED',
      `${hook} ${how}${stderr ? `: ${stderr.trim().split('\n').slice(-5).join(' | ')}` : ''}`,
    );
    this.hook = hook;
    this.exitCode = exitCode;
    this.signal = signal;
    this.stderr = stderr;
  }
}
