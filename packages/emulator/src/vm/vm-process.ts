import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { accelFailureReason, buildArgv, ensureSocketDir, isQemuArgvError, type VmSpecInput } from '@stack/qemu-argv';
import { QmpClient } from '@stack/qmp-protocol';
import { isSameProcess, processStartTime } from '@stack/internal';
import { EmulatorError } from '../errors.js';
import { trace } from '../trace/trace.js';

/** A QEMU we launched, with its QMP session. */
export interface VmProcess {
  pid: number;
  pidStartTime: string | undefined;
  /** Date.now() when QEMU was spawned. */
  launchedAt: number;
  qmp: QmpClient;
  fingerprint: string;
  /** Resolves when QEMU exits (only while this process is alive). */
  exited: Promise<void>;
  /** True once QEMU has exited. */
  readonly hasExited: boolean;
  /** SIGKILL, wait for the exit, close QMP. Never throws. */
  kill(): Promise<void>;
  /** Lets this CLI exit while QEMU runs on (until then the child keeps the event loop alive). */
  detach(): void;
}

/** The last `lines` lines of a log file, or '' when unreadable. */
export function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** The last lines of a guest console log, without terminal escapes and blank lines. */
export function consoleTail(path: string, lines = 8): string {
  const text = tail(path, 200)
    .replace(/\x1b\[[0-9;?=!>]*[A-Za-z]/g, '')
    .replace(/\r/g, '');
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '')
    .slice(-lines)
    .join('\n');
}

/**
 * Spawns QEMU in its own process group (it outlives this CLI; Ctrl-C in the terminal does not reach
 * it, we decide), its output going to `qemuLog`, and connects QMP. If QEMU exits first, the error
 * carries its output, with the reason when it is an accelerator failure.
 */
export async function launchVm(
  spec: VmSpecInput,
  options: { qemuLog: string; signal?: AbortSignal; connectTimeout?: number },
): Promise<VmProcess> {
  let built: ReturnType<typeof buildArgv>;
  try {
    built = buildArgv(spec);
    ensureSocketDir(dirname(spec.qmpSocket));
    ensureSocketDir(dirname(spec.agentSocket));
  } catch (e) {
    // Socket paths and the like are the host's; a spec that cannot be built is ours (a bug, or a
    // missing firmware the probe should have caught), reported as it is.
    if (isQemuArgvError(e) && e.code !== 'ARGV_INVALID_SPEC')
      throw new EmulatorError('HOST_UNSUPPORTED', e.message, { cause: e });
    throw e;
  }
  const { binary, argv, fingerprint } = built;
  trace.event('qemu', { binary, argv, fingerprint });
  await rm(spec.qmpSocket, { force: true });
  await rm(spec.agentSocket, { force: true });
  const fd = openSync(options.qemuLog, 'w', 0o600);
  const launchedAt = Date.now();
  const child = spawn(binary, argv, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let hasExited = false;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      hasExited = true;
      resolve();
    });
    child.once('error', (e) => {
      spawnError = e;
      hasExited = true;
      resolve();
    });
  });
  // The child stays referenced until `detach`: an unreferenced child's exit is not waited for, and a
  // wait for it (kill) with nothing else pending would let the event loop drain and the CLI exit.
  const failure = () => {
    const log = tail(options.qemuLog, 15);
    const accel = accelFailureReason(log);
    const why = spawnError
      ? `cannot run ${binary}: ${spawnError.message}`
      : (accel ?? (log || `exited with ${child.exitCode ?? child.signalCode}`));
    return new EmulatorError('QEMU_FAILED', `QEMU exited during start: ${why}`, {
      hint: `full output: ${options.qemuLog}`,
    });
  };
  const pid = child.pid ?? -1;
  const pidStartTime = pid > 0 ? processStartTime(pid) : undefined;
  const kill = async () => {
    if (!hasExited) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    }
  };
  const giveUp = new AbortController();
  const onAbort = () => giveUp.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  void exited.then(() => giveUp.abort(new Error('QEMU exited')));
  try {
    const qmp = await QmpClient.connect(spec.qmpSocket, {
      timeout: options.connectTimeout ?? 15_000,
      signal: giveUp.signal,
      trace: trace.protocol('qmp', spec.qmpSocket),
    });
    return {
      pid,
      pidStartTime,
      launchedAt,
      qmp,
      fingerprint,
      exited,
      get hasExited() {
        return hasExited;
      },
      kill: async () => {
        await kill();
        await qmp.close().catch(() => {});
      },
      detach: () => child.unref(),
    };
  } catch (e) {
    await kill();
    if (options.signal?.aborted) throw new EmulatorError('INTERRUPTED', 'interrupted', { cause: e });
    if (hasExited) throw failure();
    throw new EmulatorError(
      'QEMU_FAILED',
      `cannot connect to QEMU's monitor at ${spec.qmpSocket}: ${(e as Error).message}`,
      { cause: e },
    );
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Waits up to `timeoutMs` for a (possibly foreign) process to exit. */
export async function waitForExit(pid: number, startTime: string | undefined, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!isSameProcess(pid, startTime)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isSameProcess(pid, startTime);
}
