import { describe, expect, it } from 'vitest';
import { benchCommand } from './bench.js';
import { benchFlags, parseFlags } from './flags.js';

describe('bench flags', () => {
  it('`instances` stands for the 1, 2 and 4 instances scenarios, each once', () => {
    expect(parseFlags(benchFlags, { runs: '3', scenarios: 'instances' }).scenarios).toEqual([
      'instances-1',
      'instances-2',
      'instances-4',
    ]);
    expect(parseFlags(benchFlags, { runs: '3', scenarios: 'resume,instances-4,instances' }).scenarios).toEqual([
      'resume',
      'instances-4',
      'instances-1',
      'instances-2',
    ]);
  });

  it('refuses an unknown scenario, naming the groups among the choices', () => {
    expect(() => parseFlags(benchFlags, { runs: '3', scenarios: 'warp' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', hint: expect.stringContaining('instances-4, instances') }),
    );
  });

  it('runs the instances scenarios only when asked: they are not in the default list', () => {
    const scenarios = benchCommand().options.find((o) => o.long === '--scenarios')!.defaultValue as string;
    expect(scenarios).toContain('resume-rotation');
    expect(scenarios).not.toContain('instances');
  });
});
