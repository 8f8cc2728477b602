import { describe, expect, it } from 'vitest';
import { FetchError } from './errors.js';
import { backoffDelay, withRetries } from './retry.js';

describe('retries', () => {
  it('backs off exponentially with jitter, capped at 30 s', () => {
    expect(backoffDelay(0, 500, () => 0.5)).toBe(500);
    expect(backoffDelay(3, 500, () => 0.5)).toBe(4000);
    expect(backoffDelay(3, 500, () => 0)).toBe(3000);
    expect(backoffDelay(3, 500, () => 1)).toBe(5000);
    expect(backoffDelay(20, 500, () => 0.5)).toBe(30_000);
  });

  it('retries only retryable FetchErrors, at most `retries` times', async () => {
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          calls++;
          throw new FetchError('FETCH_NETWORK', 'reset', { retryable: true });
        },
        { retries: 2, backoff: 1 },
      ),
    ).rejects.toThrow('reset');
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      withRetries(
        async () => {
          calls++;
          throw new FetchError('FETCH_CERTIFICATE', 'bad cert');
        },
        { retries: 5, backoff: 1 },
      ),
    ).rejects.toThrow('bad cert');
    expect(calls).toBe(1);
  });
});
