import { describe, expect, it } from 'vitest';
import { DEFAULT_SCENARIOS, instanceCount, SCENARIO_GROUPS, SCENARIOS, withAloneBaseline } from './bench-scenarios.js';

describe('bench scenarios', () => {
  it('runs the instances scenarios only when asked (they start several VMs at once)', () => {
    expect(SCENARIOS).toEqual(expect.arrayContaining(['instances-1', 'instances-2', 'instances-4']));
    expect(DEFAULT_SCENARIOS.some((s) => s.startsWith('instances-'))).toBe(false);
    expect(DEFAULT_SCENARIOS).toContain('resume-rotation');
    expect(SCENARIO_GROUPS.instances).toEqual(['instances-1', 'instances-2', 'instances-4']);
    expect(SCENARIO_GROUPS.instances!.map(instanceCount)).toEqual([1, 2, 4]);
  });

  it('puts instances-1, the memory baseline, before the first other instances scenario', () => {
    expect(withAloneBaseline(['resume', 'instances-4'])).toEqual(['resume', 'instances-1', 'instances-4']);
    expect(withAloneBaseline(['instances-4', 'instances-1', 'instances-2'])).toEqual([
      'instances-1',
      'instances-4',
      'instances-2',
    ]);
    expect(withAloneBaseline(['resume', 'instances-1'])).toEqual(['resume', 'instances-1']);
    expect(withAloneBaseline(['resume', 'cold'])).toEqual(['resume', 'cold']);
  });
});
