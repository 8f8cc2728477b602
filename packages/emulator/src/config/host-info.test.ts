import { describe, expect, it } from 'vitest';
import { EmulatorError } from '../errors.js';
import { detectHost } from './host-info.js';
import { resolveConfig } from './resolve-config.js';

const home = { STACK_EMULATOR_HOME: '/tmp/emu-test-home', HOME: '/Users/me' };

describe('host detection (platform injected)', () => {
  it('Linux amd64 and arm64: the guest matches the machine', () => {
    expect(detectHost({ platform: 'linux', arch: 'x64' })).toMatchObject({
      platform: 'linux',
      arch: 'amd64',
      rosetta: false,
    });
    expect(detectHost({ platform: 'linux', arch: 'arm64' })).toMatchObject({
      platform: 'linux',
      arch: 'arm64',
      rosetta: false,
    });
    expect(resolveConfig({}, home, detectHost({ platform: 'linux', arch: 'arm64' })).arch).toBe('arm64');
  });

  it('macOS on Apple Silicon, also with an x64 Node under Rosetta: an arm64 guest', () => {
    expect(detectHost({ platform: 'darwin', arch: 'arm64', sysctl: () => '0' })).toMatchObject({
      platform: 'darwin',
      arch: 'arm64',
      rosetta: false,
    });
    const rosetta = detectHost({
      platform: 'darwin',
      arch: 'x64',
      sysctl: (n) => (n === 'sysctl.proc_translated' ? '1' : undefined),
    });
    expect(rosetta).toMatchObject({ platform: 'darwin', arch: 'arm64', rosetta: true });
    expect(resolveConfig({}, home, rosetta).arch).toBe('arm64');
    // An Intel Mac has no such sysctl: amd64.
    expect(detectHost({ platform: 'darwin', arch: 'x64', sysctl: () => undefined })).toMatchObject({
      platform: 'darwin',
      arch: 'amd64',
      rosetta: false,
    });
  });

  it('--image reference is refused off Linux, pointing at --image stack', () => {
    const mac = detectHost({ platform: 'darwin', arch: 'arm64', sysctl: () => '0' });
    let err: unknown;
    try {
      resolveConfig({ image: 'reference' }, home, mac);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EmulatorError);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', hint: expect.stringContaining('--image stack') });
    expect(resolveConfig({ image: 'reference' }, home, detectHost({ platform: 'linux', arch: 'x64' })).image).toEqual({
      kind: 'reference',
    });
  });
});
