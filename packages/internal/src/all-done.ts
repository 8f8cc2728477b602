/**
 * Runs independent steps at once and waits for every one of them, even when one fails early, then
 * throws the first failure (in the order given); `undefined` stands for a step not needed. Unlike
 * `Promise.all`, nothing is still writing when the caller goes on to clean up after a failure (a
 * half-made temp directory removed while a copy into it runs would leave the copy's file behind).
 */
export async function allDone(steps: ReadonlyArray<PromiseLike<unknown> | undefined>): Promise<void> {
  const settled = await Promise.allSettled(steps);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
}
