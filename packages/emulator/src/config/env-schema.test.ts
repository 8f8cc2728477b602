import { describe, expect, it } from 'vitest';
import { parseEnv } from './env-schema.js';

describe('parseEnv', () => {
  it('applies the defaults of the tool we replace', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({
      EMULATOR_DASHBOARD_PORT: 26700,
      EMULATOR_BACKEND_PORT: 26701,
      EMULATOR_MOCK_OAUTH_PORT: 26704,
      EMULATOR_NO_SNAPSHOT: false,
    });
    expect(env.EMULATOR_RAM).toBeUndefined(); // 4096 unless set (resolve-config)
    expect(env.EMULATOR_CPUS).toBeUndefined(); // decided with the accelerator (vcpuCount)
  });

  // Regression (issue 29, 13): an http:// API base sent the GitHub token in clear.
  it('refuses a GitHub API base over plain http, except on this machine', () => {
    expect(() => parseEnv({ STACK_EMULATOR_GITHUB_API: 'http://ghe.example.com/api/v3' })).toThrow(
      /must use https:\/\/ \(the GitHub token is sent with every request/,
    );
    expect(parseEnv({ STACK_EMULATOR_GITHUB_API: 'https://ghe.example.com/api/v3' }).STACK_EMULATOR_GITHUB_API).toBe(
      'https://ghe.example.com/api/v3',
    );
    for (const local of ['http://127.0.0.1:9', 'http://localhost:8080/api', 'http://[::1]:3000'])
      expect(parseEnv({ STACK_EMULATOR_GITHUB_API: local }).STACK_EMULATOR_GITHUB_API).toBe(local);
    expect(() => parseEnv({ STACK_EMULATOR_GITHUB_API: 'http://127.0.0.1.evil.example/' })).toThrow(/https/);
  });

  it('treats empty values as unset', () => {
    expect(parseEnv({ EMULATOR_BACKEND_PORT: '', PORT_PREFIX: '' })).toMatchObject({
      EMULATOR_BACKEND_PORT: 26701,
      PORT_PREFIX: undefined,
    });
  });

  it.each(['0', '70000', 'abc', '3.14', '-5'])(
    'rejects EMULATOR_BACKEND_PORT=%s naming the variable and the fix',
    (value) => {
      expect(() => parseEnv({ EMULATOR_BACKEND_PORT: value })).toThrow(
        `EMULATOR_BACKEND_PORT="${value}" is not a TCP port; use an integer from 1 to 65535`,
      );
    },
  );

  it('lists every bad variable at once', () => {
    const message = (() => {
      try {
        parseEnv({ EMULATOR_MINIO_PORT: 'x', EMULATOR_NO_ROTATION: 'yes', EMULATOR_ARCH: 'mips' });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(message.split('\n').sort()).toEqual([
      'EMULATOR_ARCH must be amd64 or arm64',
      'EMULATOR_MINIO_PORT="x" is not a TCP port; use an integer from 1 to 65535',
      'EMULATOR_NO_ROTATION="yes" must be 1 or 0',
    ]);
  });

  it.each([
    [
      'EMULATOR_RAM',
      '99999999999999999999',
      'EMULATOR_RAM="99999999999999999999" must be an integer from 512 to 1048576 (MiB)',
    ],
    ['EMULATOR_CPUS', '100000', 'EMULATOR_CPUS="100000" must be an integer from 1 to 255'],
    [
      'EMULATOR_READY_TIMEOUT',
      '2147484',
      'EMULATOR_READY_TIMEOUT="2147484" must be an integer from 1 to 86400 (seconds)',
    ],
    ['EMULATOR_STOP_TIMEOUT', '0', 'EMULATOR_STOP_TIMEOUT="0" must be an integer from 1 to 86400 (seconds)'],
    ['EMULATOR_SNAPSHOT_RAM', '12', 'EMULATOR_SNAPSHOT_RAM="12" must be an integer from 512 to 1048576 (MiB)'],
    ['STACK_EMULATOR_HOME', 'relative/home', 'STACK_EMULATOR_HOME must be an absolute path'],
  ])('refuses %s=%s with its bounds', (name, value, message) => {
    expect(() => parseEnv({ [name]: value })).toThrow(message);
  });

  it("reads the original's port prefix fallbacks: NEXT_PUBLIC_HEXCLAVE_PORT_PREFIX, then NEXT_PUBLIC_STACK_PORT_PREFIX", () => {
    expect(parseEnv({ NEXT_PUBLIC_HEXCLAVE_PORT_PREFIX: '72', NEXT_PUBLIC_STACK_PORT_PREFIX: '91' }).PORT_PREFIX).toBe(
      '72',
    );
    expect(parseEnv({ NEXT_PUBLIC_STACK_PORT_PREFIX: '91' }).PORT_PREFIX).toBe('91');
    expect(parseEnv({ PORT_PREFIX: '81', NEXT_PUBLIC_HEXCLAVE_PORT_PREFIX: '72' }).PORT_PREFIX).toBe('81');
  });
});
