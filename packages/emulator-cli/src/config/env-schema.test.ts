import { describe, expect, it } from 'vitest';
import { parseEnv } from './env-schema.js';

describe('parseEnv', () => {
  it('applies the defaults of the tool we replace', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ EMULATOR_DASHBOARD_PORT: 26700, EMULATOR_BACKEND_PORT: 26701, EMULATOR_MOCK_OAUTH_PORT: 26704, EMULATOR_RAM: 4096, EMULATOR_NO_SNAPSHOT: false });
    expect(env.EMULATOR_CPUS).toBeUndefined(); // decided with the accelerator (vcpuCount)
  });

  it('treats empty values as unset', () => {
    expect(parseEnv({ EMULATOR_BACKEND_PORT: '', PORT_PREFIX: '' })).toMatchObject({ EMULATOR_BACKEND_PORT: 26701, PORT_PREFIX: undefined });
  });

  it.each(['0', '70000', 'abc', '3.14', '-5'])('rejects EMULATOR_BACKEND_PORT=%s naming the variable and the fix', (value) => {
    expect(() => parseEnv({ EMULATOR_BACKEND_PORT: value })).toThrow(`EMULATOR_BACKEND_PORT="${value}" is not a TCP port; use an integer from 1 to 65535`);
  });

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
});
