import { describe, expect, it } from 'vitest';
import { detectHost } from '../config/host-info.js';
import { resolveConfig } from '../config/resolve-config.js';
import { verificationKernel } from './accel.js';

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
