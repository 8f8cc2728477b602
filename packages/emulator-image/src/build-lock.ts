import lockfile from 'proper-lockfile';

/**
 * Holds `<path>.lock` while `work` runs, so two processes never build the same cached artifact at
 * once (the second waits, then finds it built). Two test files building the base image into an empty
 * cache removed each other's tree mid-build. proper-lockfile keeps the lock fresh while it is held,
 * and a lock whose holder died is stale after 30 s and taken over.
 */
export async function withBuildLock<T>(
  path: string,
  work: () => Promise<T>,
  options: { waitMs?: number; onWait?: () => void } = {},
): Promise<T> {
  const lockOptions = { lockfilePath: `${path}.lock`, realpath: false, stale: 30_000, update: 10_000 };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(path, lockOptions);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    options.onWait?.();
    const waitMs = options.waitMs ?? 45 * 60_000;
    release = await lockfile.lock(path, {
      ...lockOptions,
      retries: { retries: Math.ceil(waitMs / 2000), factor: 1, minTimeout: 2000, maxTimeout: 2000 },
    });
  }
  try {
    return await work();
  } finally {
    await release().catch(() => {});
  }
}
