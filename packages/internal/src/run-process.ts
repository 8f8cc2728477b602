import { spawnSync } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { CodedError, errorGuard } from './coded-error.js';

/** Why a process run failed: it could not start, exited non-zero (or by a signal), timed out, was aborted. */
export type ProcessErrorCode = 'PROCESS_START_FAILED' | 'PROCESS_FAILED' | 'PROCESS_TIMEOUT' | 'PROCESS_ABORTED';

/** What a finished process left. */
export interface ProcessResult {
  /** The command for messages: the file and its first arguments. */
  command: string;
  /** Its exit code; undefined when a signal ended it. */
  exitCode: number | undefined;
  /** The signal that ended it (a timeout's or an abort's kill included), if one did. */
  signal: NodeJS.Signals | undefined;
  /** Its whole output, final newline included (as node:child_process gives it). */
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they came, with `all: true`. */
  all?: string;
}

export interface RunProcessSyncOptions {
  /** Milliseconds before the process is killed and the run fails with PROCESS_TIMEOUT. @default no limit */
  timeout?: number;
  /** Written to its stdin, which is then closed. @default stdin is /dev/null */
  input?: string;
  /** Variables added to this process's environment for it. @default this process's environment */
  env?: Record<string, string | undefined>;
  /** Its working directory. @default this process's */
  cwd?: string;
}

export interface RunProcessOptions extends RunProcessSyncOptions {
  /** Kills the process (`killSignal`); the run fails with PROCESS_ABORTED, `cause` the signal's reason. @default none */
  signal?: AbortSignal;
  /** The signal a timeout or an abort sends; SIGKILL follows 5 s later if it is still running. @default 'SIGTERM' */
  killSignal?: NodeJS.Signals;
  /** 'ignore' for a tool whose stdout nobody reads (it then cannot fill a buffer). @default 'pipe' */
  stdout?: 'pipe' | 'ignore';
  /** Also collect stdout and stderr interleaved, in `all`. @default false */
  all?: boolean;
  /** Each piece of stdout as it arrives (it is collected all the same). @default none */
  onStdout?: (text: string) => void;
  /** Each piece of stderr as it arrives (it is collected all the same). @default none */
  onStderr?: (text: string) => void;
  /**
   * Throw {@link ProcessError} when the process does not exit with 0. With false, a process that ran
   * resolves whatever its end (exit code, signal, timeout, abort); one that could not start still throws.
   * @default true
   */
  reject?: boolean;
}

/** Runs a process to its end (the seam a test injects in place of {@link runProcess}). */
export type RunProcess = (file: string, args: readonly string[], options?: RunProcessOptions) => Promise<ProcessResult>;

/** A process run that failed, with the command, its exit code or signal, and the end of its stderr. */
export class ProcessError extends CodedError<ProcessErrorCode> {
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly signal: NodeJS.Signals | undefined;
  /** The last 15 lines of its stderr (trimmed). */
  readonly stderrTail: string;
  constructor(code: ProcessErrorCode, message: string, result: Omit<ProcessResult, 'all'>, cause?: unknown) {
    super(code, message, { cause });
    this.command = result.command;
    this.exitCode = result.exitCode;
    this.signal = result.signal;
    this.stderrTail = tail(result.stderr);
  }
}

/** True for a ProcessError, also one from another copy of this package (a brand, not `instanceof`). */
export const isProcessError = errorGuard(ProcessError, '@stack/internal/process');

const tail = (text: string) => text.trim().split('\n').slice(-15).join('\n');

/** The file and its first six arguments: enough to name the run, short enough for one line. */
const commandLine = (file: string, args: readonly string[]) =>
  [file, ...args.slice(0, 6)].join(' ') + (args.length > 6 ? ' ...' : '');

type Outcome = Omit<ProcessResult, 'command' | 'all'> & {
  timedOut?: boolean;
  aborted?: boolean;
  startError?: Error;
  abortReason?: unknown;
};

/** The result, or the error that a run with `reject` (or one that never started) throws. */
function settle(file: string, args: readonly string[], o: Outcome, options: RunProcessOptions): ProcessResult {
  const result = {
    command: commandLine(file, args),
    exitCode: o.exitCode,
    signal: o.signal,
    stdout: o.stdout,
    stderr: o.stderr,
  };
  if (o.startError)
    throw new ProcessError('PROCESS_START_FAILED', `cannot run ${file}: ${o.startError.message}`, result, o.startError);
  if (options.reject === false || (o.exitCode === 0 && !o.timedOut && !o.aborted)) return result;
  if (o.timedOut)
    throw new ProcessError('PROCESS_TIMEOUT', `${result.command} did not finish within ${options.timeout} ms`, result);
  if (o.aborted) throw new ProcessError('PROCESS_ABORTED', `${result.command} was aborted`, result, o.abortReason);
  const end = o.signal ? `signal ${o.signal}` : `exit ${o.exitCode}`;
  const stderr = tail(o.stderr);
  throw new ProcessError('PROCESS_FAILED', `${result.command} failed (${end})${stderr ? `:\n${stderr}` : ''}`, result);
}

/**
 * Runs `file` with `args` (no shell) to its end, through execa. execa is loaded on the first run, not
 * with this package: it costs ~0.1 s of module loading (~0.05 s bundled) that a command which starts
 * no process must not pay.
 */
export const runProcess: RunProcess = async (file, args, options = {}) => {
  const { execa } = await import('execa');
  const subprocess = execa(file, [...args], {
    cancelSignal: options.signal,
    timeout: options.timeout,
    killSignal: options.killSignal,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : 'pipe',
    stdout: options.stdout ?? 'pipe',
    env: options.env,
    cwd: options.cwd,
    all: options.all,
    reject: false,
    stripFinalNewline: false,
  });
  follow(subprocess.stdout, options.onStdout);
  follow(subprocess.stderr, options.onStderr);
  const r = await subprocess;
  const started = r.exitCode !== undefined || r.signal !== undefined || r.timedOut || r.isCanceled;
  const result = settle(
    file,
    args,
    {
      exitCode: r.exitCode,
      signal: r.signal,
      stdout: typeof r.stdout === 'string' ? r.stdout : '',
      stderr: typeof r.stderr === 'string' ? r.stderr : '',
      timedOut: r.timedOut,
      aborted: r.isCanceled,
      abortReason: options.signal?.reason,
      startError: started ? undefined : r.cause instanceof Error ? r.cause : new Error(r.shortMessage),
    },
    options,
  );
  return options.all ? { ...result, all: typeof r.all === 'string' ? r.all : '' } : result;
};

/** Hands a stream's text to `to` as it arrives; a UTF-8 character split between two chunks stays whole. */
function follow(stream: NodeJS.ReadableStream | null, to: ((text: string) => void) | undefined): void {
  if (!stream || !to) return;
  const decoder = new StringDecoder('utf8');
  stream.on('data', (chunk: Buffer) => {
    const text = decoder.write(chunk);
    if (text) to(text);
  });
  stream.on('end', () => {
    const text = decoder.end();
    if (text) to(text);
  });
}

/**
 * {@link runProcess} for the few callers that must stay synchronous (ps(1) behind a synchronous
 * process-identity check, sysctl). Built on node:child_process's spawnSync rather than execaSync:
 * execa could only be loaded with this package, for every command, and a blocking run needs none of
 * its features. Same results and errors.
 */
export function runProcessSync(
  file: string,
  args: readonly string[],
  options: RunProcessSyncOptions = {},
): ProcessResult {
  const r = spawnSync(file, args, {
    encoding: 'utf8',
    timeout: options.timeout,
    input: options.input,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: options.env && { ...process.env, ...options.env },
    cwd: options.cwd,
    maxBuffer: 100 << 20,
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  return settle(
    file,
    args,
    {
      exitCode: r.status ?? undefined,
      signal: r.signal ?? undefined,
      stdout: r.stdout ?? '',
      stderr: r.stderr ?? '',
      timedOut,
      // A pid of 0: it never started (ENOENT, EACCES). Past that, an error (ENOBUFS) kills it: a signal.
      startError: r.error && !timedOut && !r.pid ? r.error : undefined,
    },
    options,
  );
}
