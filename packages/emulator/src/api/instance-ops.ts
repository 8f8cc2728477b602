import { resolve } from 'node:path';
import type { ExecResult } from '@stack/qga-protocol';
import { describeError, isEmulatorError } from '../errors.js';
import { execInGuest, type GuestCommand } from '../guest/guest-command.js';
import {
  credentialEnv,
  credentials as credentialsOf,
  type Credentials,
  emulatorUrlEnv,
} from '../instance/credentials.js';
import { notRunning, runningInstance } from '../instance/instance.js';
import { stopEmulator, type StopResult } from '../instance/stop.js';
import { instanceNames, type InstanceSummary, summarizeInstance } from '../instance/instances.js';
import { checkOptions, type CommonOptions, openOp, runOp } from './options.js';
import { realSeams } from '../seams/real-seams.js';
import { DEFAULT_INSTANCE } from '../config/paths.js';
import type { Seams } from '../seams/seams.js';

export interface StopOptions extends CommonOptions {
  /** How long the guest gets to power off before QEMU is told to quit. @default EMULATOR_STOP_TIMEOUT (30 s) */
  timeoutMs?: number;
  /** Called with each phase of the stop (saving, powering off, ...). @default none */
  onPhase?: (text: string) => void;
}

/**
 * Stops the emulator: saves the session, else powers the guest off; not running is not an error. An
 * interrupt during the save cancels it: the VM runs on as it was.
 */
export async function stop(options: StopOptions = {}): Promise<StopResult> {
  const op = openOp(checkOptions(options));
  return runOp(op, true, () =>
    stopEmulator(op, {
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.onPhase ? { onPhase: options.onPhase } : {}),
    }),
  );
}

/** Credentials of the running emulator: the internal project's, or `configFile`'s project's. */
export async function credentials(options: CommonOptions & { configFile?: string } = {}): Promise<Credentials> {
  const op = openOp(checkOptions(options));
  return runOp(op, false, async () => {
    const state = await runningInstance(op);
    if (!state) throw notRunning(op.config);
    return credentialsOf(op, state, options.configFile ? resolve(options.configFile) : undefined);
  });
}

/**
 * {@link credentials} as the environment variables the CLI's `run` injects, and the emulator's URLs
 * under the names the original's tools read (`STACK_EMULATOR_API_URL`, `STACK_EMULATOR_DASHBOARD_URL`).
 */
export async function credentialsEnv(
  options: CommonOptions & { configFile?: string } = {},
): Promise<Record<string, string>> {
  const c = await credentials(options);
  return { ...credentialEnv(c), ...emulatorUrlEnv(c) };
}

/** Runs a command in the running guest (as root) through its agent. */
export async function exec(options: CommonOptions & GuestCommand): Promise<ExecResult> {
  const op = openOp(checkOptions(options));
  return runOp(op, true, () => execInGuest(op, { ...options, signal: options.signal }));
}

/**
 * `options` for one instance of the home. EMULATOR_RUN_DIR is the default instance's run directory
 * (a named one refuses it), so the op of another instance is opened without it.
 */
function forInstance<T extends CommonOptions>(options: T, name: string): T {
  if (name === DEFAULT_INSTANCE) return { ...options, instance: name };
  const { EMULATOR_RUN_DIR: _runDir, ...env } = options.env ?? process.env;
  return { ...options, instance: name, env };
}

/** Every instance of the home (`default` first): state, mode, ports, uptime, session size, QEMU's memory. */
export async function list(options: CommonOptions = {}, seams: Seams = realSeams): Promise<InstanceSummary[]> {
  const op = openOp(checkOptions(options), seams);
  return runOp(op, false, async () => {
    const out: InstanceSummary[] = [];
    for (const name of await instanceNames(op.config.paths))
      out.push(await summarizeInstance(openOp(forInstance(options, name), seams)));
    return out;
  });
}

/** What {@link stopAll} did to one instance. */
export interface StopAllItem {
  instance: string;
  /** The stop's result, when it stopped. */
  result?: StopResult;
  /** Why it could not be stopped (the others are stopped all the same). */
  error?: { code: string; message: string };
}

/**
 * Stops every running instance of the home, one after another (each saves its session); one that
 * fails does not keep the others running. Instances that are not running are not listed.
 */
export async function stopAll(
  options: Omit<StopOptions, 'instance'> = {},
  seams: Seams = realSeams,
): Promise<StopAllItem[]> {
  const op = openOp(checkOptions(options), seams);
  return runOp(op, false, async () => {
    const out: StopAllItem[] = [];
    for (const name of await instanceNames(op.config.paths)) {
      const one = openOp(forInstance(options, name), seams);
      if (!(await runningInstance(one))) continue;
      try {
        const result = await runOp(one, true, () =>
          stopEmulator(one, {
            ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
            ...(options.onPhase ? { onPhase: options.onPhase } : {}),
          }),
        );
        out.push({ instance: name, result });
      } catch (e) {
        // An interrupt ends the whole command; another failure only this instance's stop.
        if (options.signal?.aborted) throw e;
        out.push({
          instance: name,
          error: { code: isEmulatorError(e) ? e.code : 'INTERNAL', message: describeError(e) },
        });
      }
    }
    return out;
  });
}
