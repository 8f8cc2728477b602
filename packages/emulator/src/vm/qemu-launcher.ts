import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { accelFailureReason, buildArgv, ensureSocketDir, isQemuArgvError } from '@stack/qemu-argv';
import { QmpClient } from '@stack/qmp-protocol';
import { processStartTime } from '@stack/internal';
import { EmulatorError } from '../errors.js';
import type { Vm, VmLauncher } from '../seams/vm.js';
import { qmpControl } from './qmp-control.js';
import { tail } from './logs-tail.js';

/**
 * The real launcher. QEMU runs in its own process group (it outlives this process; Ctrl-C in the
 * terminal does not reach it, the runtime decides), its output going to the QEMU log. If QEMU exits
 * before its monitor answers, the error carries its output, with the reason when it is an accelerator
 * failure.
 */
export const qemuLauncher: VmLauncher = {
  async launch(spec, options) {
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
    options.trace.event('qemu', { binary, argv, fingerprint });
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
    // wait for it (kill) with nothing else pending would let the event loop drain and the process exit.
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
        trace: options.trace.protocol('qmp', spec.qmpSocket),
      });
      const vm: Vm = {
        pid,
        pidStartTime,
        launchedAt,
        fingerprint,
        control: qmpControl(qmp, options.qemuVersion),
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
      return vm;
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
  },

  async attach(socket, options) {
    const qmp = await QmpClient.connect(socket, {
      timeout: options.timeout ?? 3000,
      trace: options.trace.protocol('qmp', socket),
    }).catch(() => undefined);
    return qmp ? qmpControl(qmp, options.qemuVersion) : undefined;
  },
};
