import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForPath } from './qemu.js';

export interface TestAgent {
  dir: string;
  socketPath: string;
  proc: ChildProcess;
  dispose(): Promise<void>;
}

/**
 * Starts a real qemu-ga on the host listening on a unix socket: the same agent code a guest runs,
 * without a VM. Commands it runs (guest-exec) run on the host, in a scratch directory.
 */
export async function startHostAgent(): Promise<TestAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'qga-test-'));
  const socketPath = join(dir, 'qga.sock');
  mkdirSync(join(dir, 'state'));
  const proc = spawn(
    'qemu-ga',
    ['-m', 'unix-listen', '-p', socketPath, '-t', join(dir, 'state'), '-f', join(dir, 'qga.pid')],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await waitForPath(socketPath);
  return {
    dir,
    socketPath,
    proc,
    async dispose() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGCONT');
        proc.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
