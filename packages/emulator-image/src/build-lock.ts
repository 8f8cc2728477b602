import { rm, stat } from 'node:fs/promises';
import { acquireLock, isLockBusyError } from '@stack/internal';
import { BuildError } from './errors.js';

/**
 * Holds `<path>.lock` while `work` runs, so two processes never build the same cached artifact at
 * once (the second waits, then finds it built). Two test files building the base image into an empty
 * cache removed each other's tree mid-build. The lock is the workspace's pid-proven one: a builder
 * that died (even by kill -9) is seen dead at once, where a staleness timeout made the next build wait.
 */
export async function withBuildLock<T>(
  path: string,
  work: () => Promise<T>,
  options: {
    /** Milliseconds to wait for another process's build. @default 45 minutes */
    waitMs?: number;
    /** Called once when another process holds the lock and the wait begins. @default none */
    onWait?: () => void;
    /** Stops the wait. @default none */
    signal?: AbortSignal;
  } = {},
): Promise<T> {
  const lockPath = `${path}.lock`;
  await removeLegacyLock(lockPath);
  const lock = await acquireLock(lockPath, {
    command: `build ${path}`,
    wait: { timeout: options.waitMs ?? 45 * 60_000, signal: options.signal, pollInterval: 500, onBusy: options.onWait },
  }).catch((e: unknown) => {
    if (!isLockBusyError(e)) throw e;
    throw new BuildError('IMAGE_BUILD_FAILED', `gave up waiting for another build of ${path}: ${e.message}`, {
      cause: e,
    });
  });
  try {
    return await work();
  } finally {
    await lock.release().catch(() => {});
  }
}

/**
 * proper-lockfile, used here before, made `<path>.lock` a directory and touched it every 10 s while
 * held. One left by a build killed with kill -9 would block every later build (it is no holder record
 * the lock can judge): past proper-lockfile's own 30 s staleness, it is removed.
 */
async function removeLegacyLock(lockPath: string): Promise<void> {
  const st = await stat(lockPath).catch(() => undefined);
  if (st?.isDirectory() && Date.now() - st.mtimeMs > 30_000) await rm(lockPath, { recursive: true, force: true });
}
