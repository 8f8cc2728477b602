import { describe, expect, it } from 'vitest';
import {
  ARM64_FIRMWARE_CANDIDATES,
  findArm64Firmware,
  firmwareDescriptorDirs,
  firmwareFromDescriptor,
} from './firmware.js';

const descriptor = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    'interface-types': ['uefi'],
    mapping: { device: 'flash', executable: { filename: '/fw/code.fd', format: 'raw' } },
    targets: [{ architecture: 'aarch64', machines: ['virt-*'] }],
    features: ['verbose-static'],
    ...over,
  });
const want = { architecture: 'aarch64', machine: 'virt-9.0' };

/** A file system of `files` (path -> content); directories are derived. */
function fakeFs(files: Record<string, string>, links: Record<string, string> = {}) {
  return {
    readdir: (dir: string) => {
      const names = Object.keys(files)
        .filter((p) => p.startsWith(`${dir}/`) && !p.slice(dir.length + 1).includes('/'))
        .map((p) => p.slice(dir.length + 1));
      if (names.length === 0) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return names;
    },
    readFile: (p: string) => files[p] ?? '',
    exists: (p: string) => p in files || p in links,
    realpath: (p: string) => links[p] ?? p,
  };
}

describe('firmware descriptors (docs/interop/firmware.json)', () => {
  it('take plain UEFI for the architecture and machine; not Secure Boot, SMM, other targets or qcow2 images', () => {
    expect(firmwareFromDescriptor(descriptor(), want)).toBe('/fw/code.fd');
    expect(firmwareFromDescriptor(descriptor({ features: ['secure-boot', 'enrolled-keys'] }), want)).toBeUndefined();
    expect(
      firmwareFromDescriptor(descriptor({ targets: [{ architecture: 'x86_64', machines: ['pc-q35-*'] }] }), want),
    ).toBeUndefined();
    expect(
      firmwareFromDescriptor(
        descriptor({ mapping: { device: 'flash', executable: { filename: '/fw/code.qcow2', format: 'qcow2' } } }),
        want,
      ),
    ).toBeUndefined();
    expect(firmwareFromDescriptor(descriptor({ 'interface-types': ['bios'] }), want)).toBeUndefined();
    expect(firmwareFromDescriptor('not json', want)).toBeUndefined();
  });

  it('a descriptor that is not of the documented shape offers nothing', () => {
    expect(firmwareFromDescriptor('null', want)).toBeUndefined();
    expect(firmwareFromDescriptor(descriptor({ 'interface-types': 'uefi' }), want)).toBeUndefined();
    expect(
      firmwareFromDescriptor(descriptor({ mapping: { device: 'flash', executable: { filename: 7 } } }), want),
    ).toBeUndefined();
    // More than the fields read is fine (descriptors carry a description, tags, an nvram template).
    expect(firmwareFromDescriptor(descriptor({ description: 'UEFI', tags: ['x'] }), want)).toBe('/fw/code.fd');
  });

  // Regression: descriptors were cast; a wrong-shaped one in any directory crashed the whole search.
  it('skips a wrong-shaped descriptor and keeps looking', () => {
    const fs = fakeFs({
      '/usr/share/qemu/firmware/10-broken.json': descriptor({ targets: { architecture: 'aarch64' } }),
      '/usr/share/qemu/firmware/20-torn.json': '{"interface-types": ["uef',
      '/usr/share/qemu/firmware/60-edk2-aarch64.json': descriptor({
        mapping: { device: 'flash', executable: { filename: '/good.fd' } },
      }),
      '/good.fd': '',
    });
    expect(findArm64Firmware({ env: {}, fs })).toBe('/good.fd');
  });

  it('Homebrew on Apple Silicon: the descriptor beside the QEMU in use, pointing into its Cellar', () => {
    const fs = fakeFs(
      {
        '/opt/homebrew/Cellar/qemu/9.2.0/share/qemu/firmware/60-edk2-aarch64.json': descriptor({
          mapping: {
            device: 'flash',
            executable: { filename: '/opt/homebrew/Cellar/qemu/9.2.0/share/qemu/edk2-aarch64-code.fd', format: 'raw' },
          },
        }),
        '/opt/homebrew/Cellar/qemu/9.2.0/share/qemu/edk2-aarch64-code.fd': '',
      },
      { '/opt/homebrew/bin/qemu-system-aarch64': '/opt/homebrew/Cellar/qemu/9.2.0/bin/qemu-system-aarch64' },
    );
    expect(
      findArm64Firmware({
        binary: 'qemu-system-aarch64',
        env: { PATH: '/usr/bin:/opt/homebrew/bin', HOME: '/Users/me' },
        fs,
      }),
    ).toBe('/opt/homebrew/Cellar/qemu/9.2.0/share/qemu/edk2-aarch64-code.fd');
  });

  it('Nix: the store prefix of the binary; Fedora and Debian: /usr/share/qemu/firmware; by file name, Secure Boot ones skipped', () => {
    const nix = '/nix/store/abc-qemu-9.1.0';
    const fs = fakeFs({
      [`${nix}/share/qemu/firmware/60-edk2-aarch64.json`]: descriptor({
        mapping: { device: 'flash', executable: { filename: `${nix}/share/qemu/edk2-aarch64-code.fd`, format: 'raw' } },
      }),
      [`${nix}/share/qemu/edk2-aarch64-code.fd`]: '',
      [`${nix}/bin/qemu-system-aarch64`]: '',
    });
    expect(findArm64Firmware({ binary: `${nix}/bin/qemu-system-aarch64`, env: {}, fs })).toBe(
      `${nix}/share/qemu/edk2-aarch64-code.fd`,
    );
    const fedora = fakeFs({
      '/usr/share/qemu/firmware/40-edk2-aarch64-secure.json': descriptor({
        features: ['secure-boot'],
        mapping: { device: 'flash', executable: { filename: '/usr/share/edk2/aarch64/secure.fd' } },
      }),
      '/usr/share/qemu/firmware/60-edk2-aarch64.json': descriptor({
        mapping: {
          device: 'flash',
          executable: { filename: '/usr/share/edk2/aarch64/QEMU_EFI-silent-pflash.raw', format: 'raw' },
        },
      }),
      '/usr/share/edk2/aarch64/secure.fd': '',
      '/usr/share/edk2/aarch64/QEMU_EFI-silent-pflash.raw': '',
    });
    expect(findArm64Firmware({ env: {}, fs: fedora })).toBe('/usr/share/edk2/aarch64/QEMU_EFI-silent-pflash.raw');
  });

  it('/etc overrides a same-named descriptor; without any, the known places (MacPorts, Intel Homebrew...)', () => {
    const fs = fakeFs({
      '/usr/share/qemu/firmware/60-edk2-aarch64.json': descriptor({
        mapping: { device: 'flash', executable: { filename: '/a.fd' } },
      }),
      '/etc/qemu/firmware/60-edk2-aarch64.json': descriptor({
        mapping: { device: 'flash', executable: { filename: '/b.fd' } },
      }),
      '/a.fd': '',
      '/b.fd': '',
    });
    expect(findArm64Firmware({ env: { HOME: '/h' }, fs })).toBe('/b.fd');
    expect(findArm64Firmware({ env: {}, fs: fakeFs({ '/opt/local/share/qemu/edk2-aarch64-code.fd': '' }) })).toBe(
      '/opt/local/share/qemu/edk2-aarch64-code.fd',
    );
    expect(ARM64_FIRMWARE_CANDIDATES).toContain('/usr/local/share/qemu/edk2-aarch64-code.fd');
    expect(findArm64Firmware({ env: {}, fs: fakeFs({}) })).toBeUndefined();
    expect(firmwareDescriptorDirs('/x/bin/q', { XDG_CONFIG_HOME: '/cfg' }).slice(-3)).toEqual([
      '/x/share/qemu/firmware',
      '/etc/qemu/firmware',
      '/cfg/qemu/firmware',
    ]);
  });

  it('on this host: the real descriptors find the aarch64 firmware installed here', () => {
    const f = findArm64Firmware({ binary: 'qemu-system-aarch64' });
    console.log(`aarch64 firmware here: ${f ?? 'none'}`);
    if (f) expect(f).toMatch(/\.(fd|raw)$/);
  });
});
