import { describe, expect, it } from 'vitest';
import type { EmulatorError } from '../errors.js';
import { portVariable, withCompatPortNames } from './compat-names.js';
import { resolveConfig } from './resolve-config.js';

const home = { STACK_EMULATOR_HOME: '/tmp/emu-compat-home' };
const ports = (env: Record<string, string>) => resolveConfig({ arch: 'amd64' }, { ...home, ...env }).ports;
const failure = (env: Record<string, string>) => {
  try {
    resolveConfig({ arch: 'amd64' }, { ...home, ...env });
  } catch (e) {
    return e as EmulatorError;
  }
  throw new Error('resolveConfig accepted it');
};

describe('port variable names (STACK_EMULATOR_*_PORT first, then EMULATOR_*_PORT, then the default)', () => {
  // One row per precedence case, for each service.
  const services = [
    ['dashboard', 'DASHBOARD', 26700],
    ['backend', 'BACKEND', 26701],
    ['minio', 'MINIO', 26702],
    ['inbucket', 'INBUCKET', 26703],
    ['mockOauth', 'MOCK_OAUTH', 26704],
  ] as const;
  for (const [service, name, fallback] of services) {
    it(`${service}: neither set -> ${fallback}; old only -> old; new only -> new; both -> new; new empty -> old`, () => {
      expect(ports({})[service]).toBe(fallback);
      expect(ports({ [`EMULATOR_${name}_PORT`]: '27711' })[service]).toBe(27711);
      expect(ports({ [`STACK_EMULATOR_${name}_PORT`]: '27722' })[service]).toBe(27722);
      expect(ports({ [`EMULATOR_${name}_PORT`]: '27711', [`STACK_EMULATOR_${name}_PORT`]: '27722' })[service]).toBe(
        27722,
      );
      expect(ports({ [`EMULATOR_${name}_PORT`]: '27711', [`STACK_EMULATOR_${name}_PORT`]: '' })[service]).toBe(27711);
      expect(portVariable(service)).toBe(`STACK_EMULATOR_${name}_PORT`);
    });
  }

  it('names the new variable, its value and the fix when it is not a port (even when the old one is fine)', () => {
    const e = failure({ STACK_EMULATOR_BACKEND_PORT: 'abc', EMULATOR_BACKEND_PORT: '27701' });
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('STACK_EMULATOR_BACKEND_PORT="abc" is not a TCP port; use an integer from 1 to 65535');
    expect(e.message).not.toContain('EMULATOR_BACKEND_PORT="27701"');
    expect(failure({ STACK_EMULATOR_MINIO_PORT: '70000' }).message).toContain('STACK_EMULATOR_MINIO_PORT="70000"');
    expect(failure({ STACK_EMULATOR_MINIO_PORT: '0' }).message).toContain('STACK_EMULATOR_MINIO_PORT="0"');
  });

  it('lists every bad new name at once', () => {
    expect(() =>
      withCompatPortNames({ STACK_EMULATOR_DASHBOARD_PORT: 'x', STACK_EMULATOR_INBUCKET_PORT: '-1' }),
    ).toThrow(/STACK_EMULATOR_DASHBOARD_PORT="x"[^]*STACK_EMULATOR_INBUCKET_PORT="-1"/);
  });

  it('a winner that collides with another port is refused as before', () => {
    expect(failure({ STACK_EMULATOR_BACKEND_PORT: '26700' }).message).toMatch(/both 26700/);
  });

  it('leaves an environment without the new names as it was', () => {
    const env = { ...home, EMULATOR_BACKEND_PORT: '27001', OTHER: 'x' };
    expect(withCompatPortNames(env)).toEqual(env);
  });

  it('sets the port mode to fixed when only a new name is given (the user chose the ports)', () => {
    expect(
      resolveConfig({ arch: 'amd64', instance: 'w1' }, { ...home, STACK_EMULATOR_BACKEND_PORT: '27701' }).portsMode,
    ).toBe('fixed');
  });
});
