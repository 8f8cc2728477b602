import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnvFile, STACK_BASE_ENV_KEYS } from '@stack/emulator-image';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/resolve-config.js';
import { detectHost } from '../config/host-info.js';
import { baseEnvSidecar, resolveBaseEnv } from './base-env.js';

const dir = () => mkdtempSync(join(tmpdir(), 'base-env-'));
const config = (env: Record<string, string> = {}, flags: { baseEnv?: string } = {}) =>
  // An API nobody listens on: the generation from GitHub fails at once.
  resolveConfig(
    { arch: 'amd64', ...flags },
    { STACK_EMULATOR_HOME: join(dir(), 'home'), STACK_EMULATOR_GITHUB_API: 'http://127.0.0.1:9', ...env },
    detectHost({ platform: 'linux', arch: 'x64' }),
  );
const fullBaseEnv = `${STACK_BASE_ENV_KEYS.map((k) => `${k}=v`).join('\n')}\n`;

describe('resolveBaseEnv', () => {
  it('never gives the Stack image an empty base.env: without one beside it and no way to make one, it says how to get one', async () => {
    const image = join(dir(), 'stack-emulator-amd64.qcow2');
    // No bundled one either (base-env-offline.test.ts has the start that falls back on it).
    const err = await resolveBaseEnv(config(), { kind: 'stack', path: image }, { bundled: null }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'BASE_ENV_MISSING', hint: expect.stringContaining('--base-env') });
  });

  it('uses the one pull kept beside the Stack image, with its digest for the snapshot key', async () => {
    const image = join(dir(), 'stack-emulator-amd64.qcow2');
    writeFileSync(baseEnvSidecar(image), fullBaseEnv);
    const r = await resolveBaseEnv(config(), { kind: 'stack', path: image });
    expect([...parseEnvFile(r.text).keys()]).toEqual([...STACK_BASE_ENV_KEYS]);
    expect(r.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('--base-env and EMULATOR_BASE_ENV win, for any image; an empty or missing file is refused', async () => {
    const file = join(dir(), 'mine.env');
    writeFileSync(file, 'A=1\n');
    expect((await resolveBaseEnv(config({}, { baseEnv: file }), { kind: 'path', path: '/x.qcow2' })).text).toBe(
      'A=1\n',
    );
    expect((await resolveBaseEnv(config({ EMULATOR_BASE_ENV: file }), { kind: 'stack', path: '/x.qcow2' })).from).toBe(
      file,
    );
    writeFileSync(file, '\n');
    expect(
      await resolveBaseEnv(config({}, { baseEnv: file }), { kind: 'path', path: '/x' }).catch((e: unknown) => e),
    ).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('is empty') });
    expect(
      await resolveBaseEnv(config({}, { baseEnv: '/no/such.env' }), { kind: 'path', path: '/x' }).catch(
        (e: unknown) => e,
      ),
    ).toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('the reference appliance and other images carry their own: empty, and no digest in the key', async () => {
    expect(await resolveBaseEnv(config(), { kind: 'reference', path: '/r.qcow2' })).toMatchObject({
      text: '',
      digest: undefined,
    });
  });
});
