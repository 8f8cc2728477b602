import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface ChildResult {
  code: number | null;
  signal: string | null;
  stdout: string;
}

/** Runs an ES module script in a new node process (stderr passed through). */
export function runNode(script: string, env: NodeJS.ProcessEnv = process.env): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env,
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('exit', (code, signal) => resolve({ code, signal, stdout }));
  });
}

/**
 * Runs `script` in a new node process in its own process group, waits until `mark` exists (the script,
 * or a tool it runs, has reached the moment under test), then SIGKILLs the whole group: the command
 * and the tools it spawned die at once, as on an OOM kill of the session or a power cut.
 */
export async function killWhen(
  script: string,
  mark: string,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 60_000,
): Promise<ChildResult> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env,
    detached: true,
  });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<ChildResult>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout })),
  );
  const deadline = Date.now() + timeoutMs;
  let done: ChildResult | undefined;
  void exited.then((r) => (done = r));
  while (!existsSync(mark)) {
    if (done) throw new Error(`the child exited (${done.signal ?? done.code}) before ${mark} appeared: ${stdout}`);
    if (Date.now() > deadline) throw new Error(`${mark} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  process.kill(-child.pid!, 'SIGKILL');
  return exited;
}

/** True while `pid` exists (signal 0 checks without sending). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
