import { type ExecResult, isQgaError } from '@stack/qga-protocol';
import type { Op } from '../context/op.js';
import { EmulatorError } from '../errors.js';
import { notRunning, runningInstance } from '../instance/instance.js';

export interface GuestCommand {
  /** The program and its arguments; the program is looked up in the guest's PATH. */
  argv: readonly string[];
  /**
   * Variables on top of PATH, HOME=/root and LANG=C.UTF-8. @default none
   * (Not `env`: the top-level `exec` also takes the common options, whose `env` is where the
   * configuration is read; one name for both sent the CLI's `exec` to the default home.)
   */
  vars?: Readonly<Record<string, string>>;
  /** The program's stdin. @default empty */
  input?: Uint8Array;
  /** How long it may run. */
  timeoutMs: number;
  signal?: AbortSignal;
}

const BASE_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  LANG: 'C.UTF-8',
};

/**
 * Runs a command in the running guest through its agent (as root): stdin in, stdout, stderr and the
 * exit status out, each stream at most 16 MiB and delivered when the command ends (guest-exec has no
 * streaming). It runs in a session of its own (setsid), so an interrupt or a timeout can end it with
 * everything it started (SIGTERM to its process group) instead of leaving it running in the guest.
 */
export async function execInGuest(op: Op, cmd: GuestCommand): Promise<ExecResult> {
  const { config } = op;
  if (cmd.argv.length === 0)
    throw new EmulatorError('CONFIG_INVALID', 'exec: no command given', {
      hint: 'stack-emulator exec -- <command> [args...]',
    });
  const state = await runningInstance(op);
  if (!state) throw notRunning(config);
  const agent = await op.seams.guests.connect(config.paths.agentSocket, {
    timeoutMs: 15_000,
    signal: cmd.signal,
    trace: op.trace,
  });
  let pid: number | undefined;
  try {
    return await agent.run({
      // `exec "$@"` in sh: the guest's PATH finds the program, whatever the agent's own lookup does.
      path: '/usr/bin/setsid',
      args: ['/bin/sh', '-c', 'exec "$@"', 'stack-emulator-exec', ...cmd.argv],
      env: { ...BASE_ENV, ...cmd.vars },
      ...(cmd.input?.length ? { input: cmd.input } : {}),
      timeout: cmd.timeoutMs,
      signal: cmd.signal,
      maxPollInterval: 50,
      onStart: (p) => (pid = p),
    });
  } catch (e) {
    if (pid !== undefined) {
      // Interrupted or out of time: end it in the guest too (its process group: setsid made it the leader).
      await agent
        .run({
          path: '/bin/sh',
          args: ['-c', 'kill -TERM -- "-$1" 2>/dev/null', 'sh', String(pid)],
          timeout: 10_000,
        })
        .catch(() => {});
    }
    if (cmd.signal?.aborted)
      throw new EmulatorError('INTERRUPTED', `interrupted; the command (guest pid ${pid ?? '?'}) was sent SIGTERM`, {
        cause: e,
      });
    if (isQgaError(e) && e.code === 'QGA_TIMEOUT')
      throw new EmulatorError(
        'GUEST_FAILED',
        `the command did not finish within ${cmd.timeoutMs / 1000} s; it was sent SIGTERM in the guest`,
        { cause: e, hint: 'give it longer with --timeout <seconds>' },
      );
    throw new EmulatorError(
      'GUEST_FAILED',
      `could not run the command through the guest agent: ${(e as Error).message}`,
      { cause: e },
    );
  } finally {
    await agent.close().catch(() => {});
  }
}
