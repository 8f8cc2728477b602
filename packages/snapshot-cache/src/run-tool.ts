import { spawn } from 'node:child_process';
import { SnapshotError } from './errors.js';

/** Runs an external tool (zstd, qemu-img); injected in tests that need a failing tool. */
export type RunTool = (command: string, args: string[], options?: { signal?: AbortSignal }) => Promise<void>;

export const runTool: RunTool = (command, args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], signal: options.signal });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) =>
      reject(new SnapshotError('SNAPSHOT_TOOL_FAILED', `${command} could not run: ${e.message}`, { cause: e })),
    );
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new SnapshotError(
            'SNAPSHOT_TOOL_FAILED',
            `${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim().slice(-500)}`,
          ),
        );
    });
  });
