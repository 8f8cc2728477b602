import { rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type RunTool, runTool } from './run-tool.js';

/**
 * Creates a thin qcow2 overlay on `backing` (absolute path recorded), written to a temp name and
 * renamed. A resume always gets a fresh overlay on the disk state its RAM was captured with.
 */
export async function createOverlay(backing: string, dest: string, options: { run?: RunTool; signal?: AbortSignal } = {}): Promise<void> {
  const tmp = `${dest}.${process.pid}.tmp`;
  try {
    await (options.run ?? runTool)('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', resolve(backing), '-F', 'qcow2', tmp], { signal: options.signal });
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
