import { startEmulator, type StartResult } from '../boot/start.js';
import type { Op } from '../context/op.js';
import { restoreCheckpoint } from '../checkpoint/restore.js';
import { type ExecResult } from '@stack/qga-protocol';
import { credentialEnv, credentials, type Credentials } from '../instance/credentials.js';
import type { InstanceState } from '../instance/state.js';
import { stopEmulator, type StopResult } from '../instance/stop.js';
import { execInGuest, type GuestCommand } from '../guest/guest-command.js';
import { checkOptions, type CommonOptions, openOp, runOp, type StartFlagsOptions } from './options.js';

export type StartOptions = CommonOptions &
  StartFlagsOptions & {
    /**
     * Begin at this checkpoint of the home (`checkpoint save`), e.g. a worker's own instance forked
     * from a seeded one: its data, RAM and secrets (fresh ones with `rotate`). Whatever the instance
     * held is discarded, as by `checkpoint restore`. @default none: resume the instance's own session
     */
    fromCheckpoint?: string;
  };

/** A running emulator, as {@link start} returns it. */
export interface Emulator {
  /** The instance (`default`, or the name given with `instance` / STACK_EMULATOR_INSTANCE). */
  instance: string;
  /** True when it was already running: nothing was touched. */
  alreadyRunning: boolean;
  /** True when a running emulator was saved and resumed to share the config file's directory. */
  reshared: boolean;
  /** What `run/state.json` records: mode, ports, timings, secrets, shares, QEMU's pid. */
  state: InstanceState;
  /** Base URLs on 127.0.0.1. */
  urls: { api: string; dashboard: string; minio: string; inbucket: string };
  /** The file holding the internal project's publishable client key (mode 0600). */
  internalPckFile: string;
  /** The config file this start was given (absolute), whose project {@link credentials} returns by default. */
  configFile: string | undefined;
  /** The internal project's credentials, or those of a config file's project. @default `configFile`'s */
  credentials(options?: { configFile?: string }): Promise<Credentials>;
  /**
   * The variables the CLI's `run` injects (STACK_PROJECT_ID, STACK_PUBLISHABLE_CLIENT_KEY, STACK_API_URL
   * in every spelling): of `configFile`'s project (@default this start's config file), else the internal project.
   */
  env(options?: { configFile?: string }): Promise<Record<string, string>>;
  /** Runs a command in the guest (as root) through its agent. */
  exec(command: Omit<GuestCommand, 'timeoutMs'> & { timeoutMs?: number }): Promise<ExecResult>;
  /** Stops it: saves the session (the next start resumes it) unless it is ephemeral. */
  stop(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<StopResult>;
}

/**
 * Starts the emulator, or finds it running: resumes the saved session, else the golden snapshot
 * (captured the first time), else cold-boots; fresh secrets unless the session keeps its own.
 */
export async function start(options: StartOptions = {}): Promise<Emulator> {
  const op = openOp(checkOptions(options, true));
  const from = options.fromCheckpoint;
  return emulatorHandle(
    op,
    await runOp(op, true, () => (from !== undefined ? restoreCheckpoint(op, from) : startEmulator(op))),
  );
}

/** The handle of a started (or found running) instance. */
export function emulatorHandle(op: Op, r: StartResult): Emulator {
  const { config } = op;
  const { state } = r;
  const url = (port: number) => `http://127.0.0.1:${port}`;
  return {
    instance: config.instance,
    alreadyRunning: r.alreadyRunning,
    reshared: r.reshared === true,
    state,
    urls: {
      api: url(state.ports.backend),
      dashboard: url(state.ports.dashboard),
      minio: url(state.ports.minio),
      inbucket: url(state.ports.inbucket),
    },
    internalPckFile: config.paths.internalPck,
    configFile: config.configFile,
    credentials: (o = {}) => credentials(op, state, o.configFile ?? config.configFile),
    env: async (o = {}) => credentialEnv(await credentials(op, state, o.configFile ?? config.configFile)),
    exec: (cmd) => {
      const sub = { ...op, signal: cmd.signal };
      return runOp(sub, true, () => execInGuest(sub, { timeoutMs: 600_000, ...cmd }));
    },
    stop: (o = {}) => {
      const sub = { ...op, signal: o.signal };
      return runOp(sub, true, () => stopEmulator(sub, o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}));
    },
  };
}
