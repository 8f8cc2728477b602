import type { Command } from 'commander';
import { describeError, EmulatorError, isEmulatorError, type StartFlagsOptions, trace } from '@stack/emulator';

/** Adds the flags of commands that may start the emulator. */
export function withStartFlags(cmd: Command): Command {
  return cmd
    .option('--image <image>', 'stack (pulled release), reference (built locally), or a qcow2 path', 'stack')
    .option('--arch <arch>', 'guest architecture: amd64 or arm64 (default: EMULATOR_ARCH, else the host)')
    .option(
      '--config-file <path>',
      'initialise a project for this Stack config file; its directory is shared with the guest',
    )
    .option('--no-snapshot', 'cold boot, never resume a snapshot (EMULATOR_NO_SNAPSHOT=1)')
    .option('--no-rotation', 'keep the placeholder secrets (EMULATOR_NO_ROTATION=1)')
    .option(
      '--ephemeral',
      'no saved session: start from the golden snapshot, save nothing at stop (EMULATOR_EPHEMERAL=1)',
    )
    .option('--rotate', 'fresh secrets even when resuming the saved session (it keeps its own otherwise)')
    .option('--force-capture', 'capture a new snapshot before starting (EMULATOR_FORCE_CAPTURE=1)')
    .option(
      '--base-env <file>',
      "the config disk's base.env (EMULATOR_BASE_ENV); default for --image stack: the one pull generated for it",
    );
}

/** The commander options of {@link withStartFlags} as the library's start flags. */
export interface StartFlags {
  image?: string;
  arch?: string;
  configFile?: string;
  snapshot?: boolean;
  rotation?: boolean;
  forceCapture?: boolean;
  baseEnv?: string;
  ephemeral?: boolean;
  rotate?: boolean;
}

/** Picks the start flags out of a command's options (the library validates them, --arch included). */
export function startFlags(opts: StartFlags): StartFlagsOptions {
  return {
    image: opts.image,
    arch: opts.arch as StartFlagsOptions['arch'],
    configFile: opts.configFile,
    snapshot: opts.snapshot,
    rotation: opts.rotation,
    forceCapture: opts.forceCapture,
    baseEnv: opts.baseEnv,
    ephemeral: opts.ephemeral,
    rotate: opts.rotate,
  };
}

/** Signals that end a command: Ctrl-C, kill, and SIGHUP (closing the terminal tab or window). */
export const INTERRUPT_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs `work` with an AbortSignal tied to SIGINT/SIGTERM/SIGHUP: the lifecycle stops what it started
 * (no QEMU left behind, no half-written file) and the command exits 130. Without SIGHUP, closing the
 * terminal killed the CLI mid-start and left its QEMU (its own process group) running, unrecorded.
 */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) return;
    // After SIGHUP the terminal may be gone: a failed write to it (EIO) must not end the cleanup.
    process.stderr.on('error', () => {});
    process.stderr.write(`\n${sig}: stopping what was started...\n`);
    ac.abort(new EmulatorError('INTERRUPTED', `interrupted by ${sig}`));
  };
  for (const sig of INTERRUPT_SIGNALS) process.on(sig, onSignal);
  try {
    return await work(ac.signal);
  } catch (e) {
    if (ac.signal.aborted && !(isEmulatorError(e) && e.code === 'INTERRUPTED'))
      throw new EmulatorError('INTERRUPTED', 'interrupted', { cause: e });
    throw e;
  } finally {
    for (const sig of INTERRUPT_SIGNALS) process.off(sig, onSignal);
  }
}

/** Prints an error (and its hint) to stderr, or as JSON on stdout with `--json`; returns the exit code. */
export function reportError(e: unknown, json: boolean): number {
  const code = isEmulatorError(e) ? e.code : 'INTERNAL';
  const exit = isEmulatorError(e) ? e.exitCode : 1;
  const message = describeError(e);
  const hint = isEmulatorError(e) ? e.hint : undefined;
  if (json)
    process.stdout.write(
      `${JSON.stringify({ ok: false, error: { code, message, ...(hint ? { hint } : {}) } }, null, 2)}\n`,
    );
  // With --verbose --json the error is the trace's last line; stderr stays JSON.
  if (!trace.jsonLines) process.stderr.write(`Error: ${message}\n${hint ? `  fix: ${hint}\n` : ''}`);
  return exit;
}

/** Wraps a command action: errors become a message and a meaningful exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args.at(-1) as Command;
    const opts = cmd.opts() as { json?: boolean; verbose?: boolean };
    const json = Boolean(opts.json);
    trace.configure({ verbose: opts.verbose === true || process.env.STACK_EMULATOR_DEBUG === '1', json });
    trace.event('command', { name: cmd.name(), args: cmd.args });
    try {
      const code = await fn(...args);
      process.exitCode = code ?? 0;
    } catch (e) {
      trace.event('error', {
        code: isEmulatorError(e) ? e.code : 'INTERNAL',
        message: describeError(e),
        ...(isEmulatorError(e) && e.hint ? { hint: e.hint } : {}),
      });
      process.exitCode = reportError(e, json);
    }
  };
}

/** The option every command has. */
export const VERBOSE_HELP =
  "trace each step, QEMU's command line and every QMP and guest-agent message (secrets redacted) on stderr; STACK_EMULATOR_DEBUG=1 does the same";
