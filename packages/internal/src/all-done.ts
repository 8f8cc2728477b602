/**
 * Runs independent steps at once and waits for every one of them, even when one fails early, then
 * throws the first failure (in the order given), or returns the results. `undefined` stands for a
 * step not needed; a plain value is refused by the types (a step passed uncalled would count as
 * done). Unlike `Promise.all`, nothing is still running when the caller goes on to clean up after a
 * failure (a half-made temp directory removed while a copy into it runs would leave the copy's file
 * behind; a bench's stop of every instance while one still starts would miss it).
 */
export function allDone<T>(steps: ReadonlyArray<PromiseLike<T>>): Promise<T[]>;
export function allDone(steps: ReadonlyArray<PromiseLike<unknown> | undefined>): Promise<unknown[]>;
export async function allDone(steps: ReadonlyArray<PromiseLike<unknown> | undefined>): Promise<unknown[]> {
  const settled = await Promise.allSettled(steps);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
}
