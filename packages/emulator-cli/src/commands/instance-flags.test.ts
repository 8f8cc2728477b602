import { afterEach, describe, expect, it, vi } from 'vitest';
import { emulatorCommands } from '../program.js';
import { namedInstance } from './shared.js';

const flagsOf = (name: string) =>
  emulatorCommands()
    .find((c) => c.name() === name)!
    .options.map((o) => o.long);

afterEach(() => vi.unstubAllEnvs());

describe('instance flags', () => {
  it.each(['start', 'stop', 'status', 'env', 'run', 'exec', 'logs', 'reset', 'capture'])('%s takes --instance', (c) => {
    expect(flagsOf(c)).toContain('--instance');
  });
  it('--ports on start, run and capture; --force on start; stop --all; list (ls) --json', () => {
    for (const c of ['start', 'run', 'capture']) expect(flagsOf(c)).toContain('--ports');
    expect(flagsOf('start')).toContain('--force');
    expect(flagsOf('stop')).toContain('--all');
    const list = emulatorCommands().find((c) => c.name() === 'list')!;
    expect(list.aliases()).toEqual(['ls']);
    expect(flagsOf('list')).toContain('--json');
  });
  it('names a named instance in messages, never the default one', () => {
    vi.stubEnv('STACK_EMULATOR_INSTANCE', '');
    expect(namedInstance({})).toBeUndefined();
    expect(namedInstance({ instance: 'default' })).toBeUndefined();
    expect(namedInstance({ instance: 'ci-1' })).toBe('ci-1');
    vi.stubEnv('STACK_EMULATOR_INSTANCE', 'from-env');
    expect(namedInstance({})).toBe('from-env');
    expect(namedInstance({ instance: 'flag' })).toBe('flag');
  });
});
