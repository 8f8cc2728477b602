import { spawn } from 'node:child_process';

/**
 * Runs a node script whose stdout reader has gone away before it writes (as `| head -0` or
 * `| grep -q` leave it): the child's first write fails with EPIPE. Resolves with its exit code and stderr.
 */
export function runIntoClosedPipe(
  script: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    });
    child.stdout.destroy(); // our end of the pipe closed: nothing reads what the child writes
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}
