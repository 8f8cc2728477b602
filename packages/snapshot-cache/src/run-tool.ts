import { isProcessError, runProcess } from '@stack/internal';
import { SnapshotError } from './errors.js';

/** Runs an external tool (zstd, qemu-img); injected in tests that need a failing tool. */
export type RunTool = (command: string, args: string[], options?: { signal?: AbortSignal }) => Promise<void>;

export const runTool: RunTool = async (command, args, options = {}) => {
  try {
    await runProcess(command, args, { signal: options.signal, stdout: 'ignore' });
  } catch (e) {
    if (!isProcessError(e)) throw e;
    const why = e.cause instanceof Error ? e.cause.message : e.message;
    if (e.code === 'PROCESS_START_FAILED' || e.code === 'PROCESS_ABORTED')
      throw new SnapshotError('SNAPSHOT_TOOL_FAILED', `${command} could not run: ${why}`, { cause: e });
    throw new SnapshotError(
      'SNAPSHOT_TOOL_FAILED',
      `${command} ${args.join(' ')} failed (${e.signal ?? `exit ${e.exitCode}`}): ${e.stderrTail.slice(-500)}`,
      { cause: e },
    );
  }
};
