import { describe, expect, it } from 'vitest';
import { allDone } from './all-done.js';

const later = <T>(ms: number, value: T, log: string[], fail = false) =>
  new Promise<T>((resolve, reject) =>
    setTimeout(() => {
      log.push(String(value));
      if (fail) reject(new Error(`failed ${String(value)}`));
      else resolve(value);
    }, ms),
  );

describe('allDone', () => {
  it('resolves once every step is done; undefined is a step not needed', async () => {
    const log: string[] = [];
    await expect(allDone([later(20, 'a', log), undefined, later(5, 1, log)])).resolves.toEqual(['a', undefined, 1]);
    expect(log).toEqual(['1', 'a']);
  });

  it('waits for the slow step before it throws an early failure', async () => {
    const log: string[] = [];
    const err = await allDone([later(5, 'fast', log, true), later(40, 'slow', log)]).catch((e: Error) => e);
    expect((err as Error).message).toBe('failed fast');
    // Promise.all would have thrown before 'slow' finished.
    expect(log).toEqual(['fast', 'slow']);
  });

  it('throws the first failure in the given order, not in time', async () => {
    const log: string[] = [];
    const err = await allDone([later(30, 'first', log, true), later(5, 'second', log, true)]).catch((e: Error) => e);
    expect((err as Error).message).toBe('failed first');
  });
});
