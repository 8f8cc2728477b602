import type { Command } from 'commander';
// Types only: this file is loaded to build the command tree, which must not load the runtime (its
// bundle chunk, zod included, is most of the start-up time); each action loads it when it runs.
import type { StartFlagsOptions, Trace } from '@stack/emulator';

/** Adds `--instance <name>` (commands that touch one instance's VM or data). */
export function withInstance(cmd: Command): Command {
  return cmd.option(
    '--instance <name>',
    'which instance of the home: a lowercase slug (default: STACK_EMULATOR_INSTANCE, else default)',
  );
}

/** Adds `--ports auto|fixed` (commands that may start a VM). */
export function withPortsFlag(cmd: Command): Command {
  return cmd.option(
    '--ports <mode>',
    'auto: free host ports, chosen once and kept; fixed: the EMULATOR_*_PORT variables (default: auto for a named instance without them, else fixed)',
  );
}

/**
 * The instance a command works on, for its messages: a named one is named ("instance ci-1 started"),
 * the default one reads as before (undefined).
 */
export function namedInstance(opts: { instance?: string }): string | undefined {
  const name = opts.instance ?? process.env.STACK_EMULATOR_INSTANCE;
  return name && name !== 'default' ? name : undefined;
}

/** Adds the flags of commands that may start the emulator. */
export function withStartFlags(cmd: Command): Command {
  return withPortsFlag(withInstance(cmd))
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
    )
    .option(
      '--share <dir>',
      'also share this directory with the guest, read-write, at /host<dir> (repeatable; EMULATOR_SHARES adds more); a running emulator gets it in a free slot',
      collect,
      [],
    )
    .option(
      '--share-readonly <dir>',
      'also share this directory, mounted read-only in the guest (repeatable)',
      collect,
      [],
    )
    .option(
      '--yes',
      'confirm a --share of the whole home, / or the emulator home or a parent of it (shared with a warning)',
    );
}

/** Commander's accumulator of a repeatable option. */
const collect = (v: string, all: string[]) => [...all, v];

/** The commander options of {@link withStartFlags} as the library's start flags. */
export interface StartFlags {
  instance?: string;
  ports?: string;
  image?: string;
  arch?: string;
  configFile?: string;
  snapshot?: boolean;
  rotation?: boolean;
  forceCapture?: boolean;
  baseEnv?: string;
  ephemeral?: boolean;
  rotate?: boolean;
  share?: string[];
  shareReadonly?: string[];
  yes?: boolean;
}

/** Picks the start flags out of a command's options (the library validates them, --arch included). */
export function startFlags(opts: StartFlags): StartFlagsOptions & { instance?: string } {
  return {
    instance: opts.instance,
    ports: opts.ports as StartFlagsOptions['ports'],
    image: opts.image,
    arch: opts.arch as StartFlagsOptions['arch'],
    configFile: opts.configFile,
    snapshot: opts.snapshot,
    rotation: opts.rotation,
    forceCapture: opts.forceCapture,
    baseEnv: opts.baseEnv,
    ephemeral: opts.ephemeral,
    rotate: opts.rotate,
    shares: opts.share ?? [],
    readonlyShares: opts.shareReadonly ?? [],
    confirmWideShare: opts.yes === true,
  };
}

/** Signals that end a command: Ctrl-C, kill, and SIGHUP (closing the terminal tab or window). */
export const INTERRUPT_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs `work` with an AbortSignal tied to SIGINT/SIGTERM/SIGHUP: the library stops what it started
 * (no QEMU left behind, no half-written file), its error is INTERRUPTED (converted there, once) and
 * the command exits 130. Without SIGHUP, closing the terminal killed the CLI mid-start and left its
 * QEMU (its own process group) running, unrecorded.
 */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const { EmulatorError } = await import('@stack/emulator');
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
  } finally {
    for (const sig of INTERRUPT_SIGNALS) process.off(sig, onSignal);
  }
}

/** What every command gets besides its arguments: its trace (passed to each library call). */
export interface CommandIo {
  trace: Trace;
}

/**
 * Wraps a command action: a trace of its own (printed with --verbose or STACK_EMULATOR_DEBUG=1) is
 * passed last, in place of commander's Command; errors become a message and a meaningful exit code.
 */
export function action<A extends unknown[]>(
  fn: (...args: [...A, CommandIo]) => Promise<number | void>,
): (...args: [...A, Command]) => Promise<void> {
  return async (...args: [...A, Command]) => {
    const cmd = args.at(-1) as Command;
    const opts = cmd.opts() as { json?: boolean; verbose?: boolean };
    const json = Boolean(opts.json);
    performance.mark('stack-emulator:action');
    const [{ Trace, describeError, isEmulatorError }, { reportError }] = await Promise.all([
      import('@stack/emulator'),
      import('./report-error.js'),
    ]);
    performance.mark('stack-emulator:runtime');
    const trace = new Trace({ verbose: opts.verbose === true || process.env.STACK_EMULATOR_DEBUG === '1', json });
    trace.event('command', { name: cmd.name(), args: cmd.args });
    try {
      const code = await fn(...(args.slice(0, -1) as A), { trace });
      process.exitCode = code ?? 0;
    } catch (e) {
      // The library traced its own errors; one of the CLI's (a bad flag) is traced here.
      if (trace.events.at(-1)?.kind !== 'error')
        trace.event('error', {
          code: isEmulatorError(e) ? e.code : 'INTERNAL',
          message: describeError(e),
          ...(isEmulatorError(e) && e.hint ? { hint: e.hint } : {}),
        });
      process.exitCode = reportError(e, json, trace);
    }
  };
}

/** The option every command has. */
export const VERBOSE_HELP =
  "trace each step, QEMU's command line and every QMP and guest-agent message (secrets redacted) on stderr; STACK_EMULATOR_DEBUG=1 does the same";
