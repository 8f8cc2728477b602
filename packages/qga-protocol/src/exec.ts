import { type CallOptions, sleep, withDeadline } from '@stack/internal';
import { z } from 'zod';
import type { QgaClient } from './client.js';
import { QgaAbortError, QgaInvalidReplyError, QgaTimeoutError } from './errors.js';

/** What to run in the guest. */
export interface ExecOptions extends CallOptions {
  /** Absolute path of the program in the guest. */
  path: string;
  /** Arguments (without argv[0]). @default [] */
  args?: readonly string[];
  /** The program's whole environment (the agent does not merge it with its own). @default the agent's */
  env?: Readonly<Record<string, string>>;
  /** Bytes for the program's stdin, sent inline as base64. @default none (stdin is empty) */
  input?: Uint8Array | string;
  /** Collect stdout and stderr (each capped at 16 MiB by the agent). @default true */
  captureOutput?: boolean;
  /** First delay between status polls; it grows ×1.5 up to `maxPollInterval`. @default 2 */
  pollInterval?: number;
  /** @default 100 */
  maxPollInterval?: number;
  /** Called with the guest pid as soon as the program runs (e.g. to signal it on an interrupt). */
  onStart?: (pid: number) => void;
}

/** How a guest program ended. */
export interface ExecResult {
  pid: number;
  /** Exit status, or null when a signal ended the program. */
  exitCode: number | null;
  /** Signal number that ended the program, or null. */
  signal: number | null;
  stdout: Buffer;
  stderr: Buffer;
  /** True when the agent cut stdout or stderr at its 16 MiB limit. */
  truncated: boolean;
}

/** GUEST_EXEC_MAX_OUTPUT in qga/commands.c: the agent keeps at most this much of each stream. */
const MAX_EXEC_OUTPUT = 16 * 1024 * 1024;

const pidSchema = z.object({ pid: z.number().int() });
const statusSchema = z.object({
  exited: z.boolean(),
  exitcode: z.number().int().optional(),
  signal: z.number().int().optional(),
  'out-data': z.string().optional(),
  'err-data': z.string().optional(),
  'out-truncated': z.boolean().optional(),
  'err-truncated': z.boolean().optional(),
});

/**
 * Runs a program in the guest with `guest-exec` and polls `guest-exec-status` until it ends. The first
 * status after the exit reaps the process (a second one fails with "Invalid parameter 'pid'"), so that
 * status is the result. A non-zero exit is a result, not an error; a program that cannot be started
 * rejects with QgaCommandError. The timeout covers the whole run; the guest program is not killed.
 */
export async function exec(qga: QgaClient, options: ExecOptions): Promise<ExecResult> {
  const what = `guest-exec ${options.path}`;
  return withDeadline(
    options,
    { timeout: (ms) => new QgaTimeoutError(what, ms), abort: (r) => new QgaAbortError(what, r) },
    async (signal) => {
      const args: Record<string, unknown> = { path: options.path, 'capture-output': options.captureOutput ?? true };
      if (options.args?.length) args.arg = [...options.args];
      if (options.env) args.env = Object.entries(options.env).map(([k, v]) => `${k}=${v}`);
      if (options.input !== undefined) args['input-data'] = Buffer.from(options.input).toString('base64');
      const started = pidSchema.safeParse(await qga.execute('guest-exec', args, { signal }));
      if (!started.success) throw new QgaInvalidReplyError('guest-exec', { cause: started.error });
      const pid = started.data.pid;
      options.onStart?.(pid);
      let delay = options.pollInterval ?? 2;
      const maxDelay = options.maxPollInterval ?? 100;
      for (;;) {
        const parsed = statusSchema.safeParse(await qga.execute('guest-exec-status', { pid }, { signal }));
        if (!parsed.success) throw new QgaInvalidReplyError('guest-exec-status', { cause: parsed.error });
        const s = parsed.data;
        if (s.exited) {
          const stdout = Buffer.from(s['out-data'] ?? '', 'base64');
          const stderr = Buffer.from(s['err-data'] ?? '', 'base64');
          // qemu-ga 10.0.2 cuts a stream at 16 MiB yet reports `out-truncated: false`; a stream that
          // reached the cap is treated as cut.
          const atCap = stdout.length >= MAX_EXEC_OUTPUT || stderr.length >= MAX_EXEC_OUTPUT;
          return {
            pid,
            exitCode: s.exitcode ?? null,
            signal: s.signal ?? null,
            stdout,
            stderr,
            truncated: Boolean(s['out-truncated'] || s['err-truncated'] || atCap),
          };
        }
        await sleep(delay, signal);
        delay = Math.min(maxDelay, delay * 1.5);
      }
    },
  );
}
