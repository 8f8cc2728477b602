import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestQemu {
  dir: string;
  qmpPath: string;
  proc: ChildProcess;
  /** Kills QEMU (SIGKILL) and removes its directory. */
  dispose(): Promise<void>;
}

/** Waits until `path` exists, polling every 10 ms, or throws after `timeout` ms. */
export async function waitForPath(path: string, timeout = 10_000): Promise<void> {
  const end = Date.now() + timeout;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`${path} did not appear within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Starts `qemu-system-x86_64 -machine none` (no guest, no KVM needed) with QMP on a unix socket. */
export async function startMachineNone(extraArgs: string[] = []): Promise<TestQemu> {
  const dir = mkdtempSync(join(tmpdir(), 'qmp-test-'));
  const qmpPath = join(dir, 'qmp.sock');
  const proc = spawn(
    'qemu-system-x86_64',
    ['-machine', 'none', '-nodefaults', '-display', 'none', '-qmp', `unix:${qmpPath},server=on,wait=off`, ...extraArgs],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  proc.stderr?.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitForPath(qmpPath),
      exited.then(() => Promise.reject(new Error(`qemu exited early: ${stderr}`))),
    ]);
  } catch (e) {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    qmpPath,
    proc,
    async dispose() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
