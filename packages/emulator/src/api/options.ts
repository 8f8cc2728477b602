import { z } from 'zod';
import { resolveConfig, type StartFlags } from '../config/resolve-config.js';
import type { HostInfo } from '../config/host-info.js';
import type { Op } from '../context/op.js';
import { describeError, EmulatorError, isEmulatorError } from '../errors.js';
import { diskFull, isDiskFull } from '../instance/disk-full.js';
import { type Reporter, silentReporter } from '../report/reporter.js';
import { realSeams } from '../seams/real-seams.js';
import type { Seams } from '../seams/seams.js';
import { Trace } from '../trace/trace.js';

/** Options every operation takes. */
export interface CommonOptions {
  /**
   * The environment configuration is read from (`STACK_EMULATOR_HOME`, `EMULATOR_*` ports, timeouts,
   * ...; see the CLI README). Values here are validated like the CLI's. @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** The emulator home; wins over `env.STACK_EMULATOR_HOME`. @default `~/.stack/emulator` */
  home?: string;
  /**
   * Which instance of the home: each has its own run directory, session, lock and ports; images and
   * snapshots are shared. A lowercase slug. @default `env.STACK_EMULATOR_INSTANCE`, else `default`
   */
  instance?: string;
  /** The machine (platform, architecture, cores, memory). @default detected once */
  host?: HostInfo;
  /** Where progress goes. @default nothing is reported */
  reporter?: Reporter;
  /** Ends the operation early: what it started is stopped, nothing half-written is kept. */
  signal?: AbortSignal;
  /**
   * Records every step, QEMU's command line and every QMP and agent message (secrets redacted);
   * operations that change the instance write it to `run/trace.log`. @default a quiet one per call
   */
  trace?: Trace;
}

/** The flags of the operations that may start a VM, as the CLI's `start` has them. */
export interface StartFlagsOptions {
  /** `stack` (pulled release), `reference` (built locally) or a qcow2 path. @default 'stack' */
  image?: string;
  /** Guest architecture. @default `EMULATOR_ARCH`, else the host's */
  arch?: 'amd64' | 'arm64';
  /** A Stack config file: its project directory is shared with the guest. @default none */
  configFile?: string;
  /** Resume snapshots (false: always cold boot). @default true */
  snapshot?: boolean;
  /** Fresh secrets at start (false: the public placeholders). @default true */
  rotation?: boolean;
  /** Fresh secrets even when resuming the saved session. @default false */
  rotate?: boolean;
  /** No saved session: golden snapshot every start, nothing saved at stop. @default false */
  ephemeral?: boolean;
  /** Capture a new snapshot first. @default false */
  forceCapture?: boolean;
  /**
   * `auto`: free host ports, chosen at the first start and kept; `fixed`: the port variables.
   * @default `auto` for an instance other than `default` whose port variables are unset, else `fixed`
   */
  ports?: 'auto' | 'fixed';
  /**
   * Start even when the memory check refuses (another instance of the home runs and the host's
   * available memory cannot hold this one's RAM and 512 MiB more). @default false
   */
  force?: boolean;
  /** The config disk's base.env. @default the image's */
  baseEnv?: string;
  /**
   * More host directories to share with the guest, read-write, mounted at `/host<real path>` (a
   * config file registered through the backend must lie in a share). Added to `env.EMULATOR_SHARES`
   * (separated like PATH). Each must be a directory; the home, `/` and the emulator home or a parent
   * of it are refused unless `confirmWideShare`. On a running emulator, a directory not shared yet
   * takes a free slot (its session is saved and resumed with it; 4 slots in all).
   * @default [] (only the `configFile` project directory is shared)
   */
  shares?: string[];
  /** Host directories the guest mounts read-only, checked like {@link shares}. @default [] */
  readonlyShares?: string[];
  /**
   * Allows sharing the whole home, `/`, or the emulator home or a parent of it (the CLI's `--yes`);
   * a warning is printed for each. @default false
   */
  confirmWideShare?: boolean;
}

const common = z.object({
  env: z.record(z.string(), z.string().optional()).optional(),
  home: z.string().min(1).optional(),
  instance: z.string().optional(),
  host: z.any().optional(),
  reporter: z.any().optional(),
  signal: z.instanceof(AbortSignal).optional(),
  trace: z.instanceof(Trace).optional(),
});

const startFlags = z.object({
  image: z.string().min(1).optional(),
  arch: z.string().optional(),
  configFile: z.string().min(1).optional(),
  snapshot: z.boolean().optional(),
  rotation: z.boolean().optional(),
  rotate: z.boolean().optional(),
  ephemeral: z.boolean().optional(),
  forceCapture: z.boolean().optional(),
  baseEnv: z.string().min(1).optional(),
  ports: z.string().optional(),
  force: z.boolean().optional(),
  fromCheckpoint: z.string().min(1).optional(),
  shares: z.array(z.string().min(1)).optional(),
  readonlyShares: z.array(z.string().min(1)).optional(),
  confirmWideShare: z.boolean().optional(),
});

/** Validates an operation's options at the package boundary: a wrong type is CONFIG_INVALID naming the field. */
export function checkOptions<T>(options: T, withStartFlags = false): T {
  const schema = withStartFlags ? common.extend(startFlags.shape).passthrough() : common.passthrough();
  const r = schema.safeParse(options ?? {});
  if (!r.success) {
    const where = r.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ');
    throw new EmulatorError('CONFIG_INVALID', `invalid options (${where})`);
  }
  return options;
}

/**
 * The operation's world: configuration resolved once (flags > env > defaults), its reporter, trace,
 * signal and the seams (the real ones unless a test passes its own).
 */
export function openOp(options: CommonOptions & StartFlagsOptions = {}, seams: Seams = realSeams): Op {
  const env = { ...(options.env ?? process.env), ...(options.home ? { STACK_EMULATOR_HOME: options.home } : {}) };
  const flags: StartFlags = {
    instance: options.instance,
    ports: options.ports,
    force: options.force,
    image: options.image,
    arch: options.arch,
    configFile: options.configFile,
    snapshot: options.snapshot,
    rotation: options.rotation,
    rotate: options.rotate,
    ephemeral: options.ephemeral,
    forceCapture: options.forceCapture,
    baseEnv: options.baseEnv,
    shares: options.shares,
    readonlyShares: options.readonlyShares,
    confirmWideShare: options.confirmWideShare,
  };
  return {
    config: resolveConfig(flags, env, options.host),
    reporter: options.reporter ?? silentReporter,
    trace: options.trace ?? new Trace(),
    signal: options.signal,
    seams,
  };
}

/**
 * Runs one operation: an interrupt becomes INTERRUPTED and a full file system DISK_FULL (naming the
 * directory, what holds the space and the way out; converted here, once), the error is
 * the trace's last event, and operations that change the instance (`persist`) leave their trace in
 * `run/trace.log` however they end.
 */
export async function runOp<T>(op: Op, persist: boolean, work: (op: Op) => Promise<T>): Promise<T> {
  try {
    return await work(op);
  } catch (e) {
    const reason: unknown = op.signal?.reason;
    const err =
      op.signal?.aborted && !(isEmulatorError(e) && e.code === 'INTERRUPTED')
        ? isEmulatorError(reason) && reason.code === 'INTERRUPTED'
          ? new EmulatorError('INTERRUPTED', reason.message, { cause: e })
          : new EmulatorError('INTERRUPTED', 'interrupted', { cause: e })
        : isDiskFull(e)
          ? await diskFull(op.config, e)
          : e;
    op.trace.event('error', {
      code: isEmulatorError(err) ? err.code : 'INTERNAL',
      message: describeError(err),
      ...(isEmulatorError(err) && err.hint ? { hint: err.hint } : {}),
    });
    throw err;
  } finally {
    if (persist) op.trace.writeTo(op.config.paths.trace);
  }
}
