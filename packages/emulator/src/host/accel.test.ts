import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccelCheck, HostProbe } from '@stack/qemu-argv';
import { testProbe } from '../../test/boot-env.js';
import { afterAll, describe, expect, it } from 'vitest';
import { detectHost } from '../config/host-info.js';
import { resolveConfig } from '../config/resolve-config.js';
import { chooseHostAccelerator, verificationKernel } from './accel.js';

const config = (platform: NodeJS.Platform, arch: string, guest?: string) =>
  resolveConfig(
    guest ? { arch: guest } : {},
    { STACK_EMULATOR_HOME: '/tmp/h', HOME: '/tmp' },
    detectHost({ platform, arch }),
  );
const none = () => undefined;

describe('the kernel a hardware accelerator is verified with', () => {
  it("is the image's own when it has one", () => {
    expect(
      verificationKernel(config('linux', 'x64'), '/img.boot/vmlinuz', {
        cached: () => '/cache/vmlinuz',
        readable: () => true,
      }),
    ).toBe('/img.boot/vmlinuz');
  });

  it("else a cached base image's, else the running kernel's file on a Linux host of the guest's architecture", () => {
    expect(
      verificationKernel(config('linux', 'x64'), undefined, {
        cached: () => '/cache/vmlinuz-6.12',
        readable: () => true,
      }),
    ).toBe('/cache/vmlinuz-6.12');
    expect(
      verificationKernel(config('linux', 'x64'), undefined, {
        cached: none,
        release: '6.1.0-40-amd64',
        readable: (p) => p === '/boot/vmlinuz-6.1.0-40-amd64',
      }),
    ).toBe('/boot/vmlinuz-6.1.0-40-amd64');
    expect(
      verificationKernel(config('linux', 'arm64'), undefined, { cached: none, release: '6.8.0', readable: () => true }),
    ).toBe('/boot/vmlinuz-6.8.0');
  });

  it('never a kernel of another architecture, an unreadable one (Ubuntu: 0600), or one macOS does not have', () => {
    expect(
      verificationKernel(config('linux', 'arm64', 'amd64'), undefined, {
        cached: none,
        release: '6.8.0',
        readable: () => true,
      }),
    ).toBeUndefined();
    expect(
      verificationKernel(config('linux', 'x64'), undefined, {
        cached: () => '/cache/vmlinuz',
        release: '6.8.0',
        readable: () => false,
      }),
    ).toBeUndefined();
    expect(
      verificationKernel(config('darwin', 'arm64'), undefined, {
        cached: none,
        release: '24.1.0',
        readable: () => true,
      }),
    ).toBeUndefined();
  });
});

describe('chooseHostAccelerator: what a check of KVM leaves behind (QEMU run injected)', () => {
  const probe = testProbe();
  const homes: string[] = [];
  afterAll(() => homes.forEach((h) => rmSync(h, { recursive: true, force: true })));
  const home = () => {
    homes.push(mkdtempSync(join(tmpdir(), 'accel-')));
    return resolveConfig(
      {},
      { STACK_EMULATOR_HOME: homes.at(-1)!, HOME: '/tmp' },
      detectHost({ platform: 'linux', arch: 'x64' }),
    );
  };
  const verifying = (check: AccelCheck) => {
    const calls: string[] = [];
    return { calls, verify: async (_p: HostProbe, accel: string) => (calls.push(accel), check) };
  };

  it('a QEMU that could not run at all: TCG for this start, nothing remembered, checked again next time', async () => {
    const config = home();
    const { calls, verify } = verifying({
      usable: false,
      reason: 'error while loading shared libraries: libslirp.so.0',
      inconclusive: true,
    });
    const first = await chooseHostAccelerator(config, probe, { verify });
    expect(first).toMatchObject({ accel: 'tcg', reason: expect.stringContaining('could not check kvm (error while') });
    expect(existsSync(config.paths.accelVerdicts)).toBe(false);
    await chooseHostAccelerator(config, probe, { verify });
    expect(calls).toEqual(['kvm', 'kvm']);
  });

  it('KVM that cannot run a guest is remembered, with its reason, and not checked again', async () => {
    const config = home();
    const { calls, verify } = verifying({ usable: false, reason: 'a kernel made no progress under kvm in 5 s' });
    expect(await chooseHostAccelerator(config, probe, { verify })).toMatchObject({
      accel: 'tcg',
      reason: expect.stringContaining('kvm cannot run the guest on this host (a kernel made no progress'),
    });
    expect(existsSync(config.paths.accelVerdicts)).toBe(true);
    expect(await chooseHostAccelerator(config, probe, { verify })).toMatchObject({ accel: 'tcg' });
    expect(calls).toEqual(['kvm']);
  });
});
