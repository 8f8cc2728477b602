import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { acquireLock, type Lock } from '@stack/snapshot-cache';
import type { BootEnv } from './boot-env.js';

/**
 * Captures of one image run one at a time in a home. Instances started at once from a fresh home
 * would otherwise each capture the snapshot they can share (an image that retargets its ports stores
 * every capture under the same key, and a later commit replaces an earlier one under a resume that
 * just found it): the second waits, then finds the first's and resumes it. A holder that died leaves
 * no wait (the lock knows its process); the caller's signal ends the wait.
 */
export async function lockImageCapture(env: BootEnv): Promise<{ lock: Lock; waited: boolean }> {
  const { config, reporter, signal } = env.op;
  const path = join(dirname(config.paths.portsLock), `capture-${env.image.digest.slice(0, 16)}.lock`);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let waited = false;
  const lock = await acquireLock(path, {
    command: `capture (instance ${config.instance})`,
    wait: {
      ...(signal ? { signal } : {}),
      onBusy: (holder) => {
        waited = true;
        reporter.info(`waiting for another start's capture of this image (pid ${holder.pid}) to finish, to share it`);
      },
    },
  });
  return { lock, waited };
}
