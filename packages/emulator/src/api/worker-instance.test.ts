import { describe, expect, it } from 'vitest';
import { checkInstanceName } from '../config/instance-name.js';
import { workerInstance } from './worker-instance.js';

describe('workerInstance', () => {
  it("names each runner's worker, a valid instance name", () => {
    expect(workerInstance({ env: { VITEST_POOL_ID: '2' } })).toBe('worker-2');
    expect(workerInstance({ env: { JEST_WORKER_ID: '3' } })).toBe('worker-3');
    expect(workerInstance({ env: {} })).toBe('worker-1');
    expect(workerInstance({ prefix: 'ci', env: { VITEST_POOL_ID: '12' } })).toBe('ci-12');
    expect(checkInstanceName(workerInstance({ env: { VITEST_POOL_ID: '7' } }))).toBe('worker-7');
  });
});
