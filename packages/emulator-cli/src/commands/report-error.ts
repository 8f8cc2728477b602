// How an error ends a command: its message and hint on stderr (or JSON), and its exit code. Loaded
// with the runtime, by an action that failed, never to build the command tree.
import { describeError, type EmulatorErrorCode, isEmulatorError, type Trace } from '@stack/emulator';

/**
 * The exit code of each error: 2 for input the user must fix, 3 for "not running", 4 for "another
 * command holds the instance", 5 for "not enough memory for another instance", 130 for an interrupt, 1 for everything else.
 */
const EXIT_CODES: Partial<Record<EmulatorErrorCode, number>> = {
  CONFIG_INVALID: 2,
  CONFIG_FILE_NOT_FOUND: 2,
  PORT_BUSY: 2,
  HOST_UNSUPPORTED: 2,
  IMAGE_MISSING: 2,
  BASE_ENV_MISSING: 2,
  SESSION_IMAGE_MISMATCH: 2,
  CHECKPOINT_NOT_FOUND: 2,
  CHECKPOINT_EXISTS: 2,
  CHECKPOINT_INCOMPATIBLE: 2,
  SHARE_INVALID: 2,
  SHARE_TOO_WIDE: 2,
  NOT_RUNNING: 3,
  LOCK_BUSY: 4,
  INSUFFICIENT_MEMORY: 5,
  INTERRUPTED: 130,
};

export const exitCodeOf = (e: unknown): number => (isEmulatorError(e) ? (EXIT_CODES[e.code] ?? 1) : 1);

/** Prints an error (and its hint) to stderr, or as JSON on stdout with `--json`; returns the exit code. */
export function reportError(e: unknown, json: boolean, trace?: Trace): number {
  const code = isEmulatorError(e) ? e.code : 'INTERNAL';
  const message = describeError(e);
  const hint = isEmulatorError(e) ? e.hint : undefined;
  if (json)
    process.stdout.write(
      `${JSON.stringify({ ok: false, error: { code, message, ...(hint ? { hint } : {}) } }, null, 2)}\n`,
    );
  // With --verbose --json the error is the trace's last line; stderr stays JSON.
  if (!trace?.jsonLines) process.stderr.write(`Error: ${message}\n${hint ? `  fix: ${hint}\n` : ''}`);
  return exitCodeOf(e);
}
