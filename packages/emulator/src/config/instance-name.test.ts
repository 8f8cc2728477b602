import { describe, expect, it } from 'vitest';
import { checkInstanceName, isInstanceName } from './instance-name.js';
import { resolveConfig } from './resolve-config.js';
import { detectHost } from './host-info.js';

const host = detectHost({ platform: 'linux', arch: 'x64', cores: 4, memoryMiB: 16384 });

describe('instance names', () => {
  it.each(['default', 'a', 'ci-1', 'worker-12', `a${'b'.repeat(30)}`])('accepts %s', (n) => {
    expect(isInstanceName(n)).toBe(true);
  });
  it.each(['', 'A', '1a', '-a', 'a_b', 'a.b', '../x', 'a/b', `a${'b'.repeat(31)}`])('refuses %j', (n) => {
    expect(isInstanceName(n)).toBe(false);
  });
  it('is CONFIG_INVALID naming the value, its source and the rule', () => {
    expect(() => checkInstanceName('Bad', 'STACK_EMULATOR_INSTANCE')).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: 'STACK_EMULATOR_INSTANCE "Bad" is not an instance name',
        hint: expect.stringContaining('lowercase letter'),
      }),
    );
  });
  it('resolves the flag over the environment, and checks both', () => {
    const env = { STACK_EMULATOR_HOME: '/h', STACK_EMULATOR_INSTANCE: 'env-one' };
    expect(resolveConfig({ instance: 'flag-one' }, env, host).instance).toBe('flag-one');
    expect(resolveConfig({}, env, host).instance).toBe('env-one');
    expect(resolveConfig({}, { STACK_EMULATOR_HOME: '/h' }, host).instance).toBe('default');
    expect(() => resolveConfig({ instance: 'X' }, env, host)).toThrow(/--instance "X"/);
    expect(() => resolveConfig({}, { ...env, STACK_EMULATOR_INSTANCE: 'a b' }, host)).toThrow(
      /STACK_EMULATOR_INSTANCE/,
    );
  });
  it('keeps the paths of the default instance and puts a named one under instances/', () => {
    const d = resolveConfig({}, { STACK_EMULATOR_HOME: '/h' }, host).paths;
    expect([d.run, d.session, d.instanceRoot]).toEqual(['/h/run', '/h/session', '/h']);
    const n = resolveConfig({ instance: 'ci-1' }, { STACK_EMULATOR_HOME: '/h' }, host).paths;
    expect([n.run, n.session, n.snapshots]).toEqual([
      '/h/instances/ci-1/run',
      '/h/instances/ci-1/session',
      '/h/snapshots',
    ]);
  });
});
