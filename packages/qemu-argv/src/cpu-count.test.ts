import { describe, expect, it } from 'vitest';
import { defaultCpuCount } from './cpu-count.js';

describe('defaultCpuCount', () => {
  it('gives 4 vCPUs with a hardware accelerator, whatever the host', () => {
    expect(defaultCpuCount('kvm', 2)).toBe(4);
    expect(defaultCpuCount('hvf', 1)).toBe(4);
  });
  it('never gives TCG more vCPUs than host cores, nor more than 4', () => {
    expect(defaultCpuCount('tcg', 1)).toBe(1);
    expect(defaultCpuCount('tcg', 2)).toBe(2);
    expect(defaultCpuCount('tcg', 16)).toBe(4);
  });
});
