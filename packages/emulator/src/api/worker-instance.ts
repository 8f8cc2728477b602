/**
 * The instance of this test worker, `<prefix>-<n>`: n is the runner's worker number (vitest's
 * VITEST_POOL_ID, jest's JEST_WORKER_ID), so each worker of a parallel run gets its own backend and
 * the same one for every file it runs. Outside a runner, `<prefix>-1`.
 */
export function workerInstance(
  options: {
    /** The name's first part (a lowercase letter first). @default 'worker' */
    prefix?: string;
    /** Where the worker number is read. @default process.env */
    env?: Readonly<Record<string, string | undefined>>;
  } = {},
): string {
  const env = options.env ?? process.env;
  const n = env.VITEST_POOL_ID ?? env.JEST_WORKER_ID ?? '1';
  return `${options.prefix ?? 'worker'}-${n}`;
}
