import { describe, expect, it } from 'vitest';
import { onPath, type ProbeDeps, probeSetupFacts } from './setup-probe.js';

const deps = (files: string[], over: Partial<ProbeDeps> = {}): ProbeDeps => ({
  platform: 'linux',
  env: { PATH: '/usr/local/bin:/usr/bin' },
  isExecutable: (p) => files.includes(p),
  osRelease: () => 'ID=ubuntu\nID_LIKE=debian\n',
  firmware: (arch) => arch === 'amd64',
  isRoot: false,
  isTerminal: false,
  ...over,
});

describe('probeSetupFacts', () => {
  it('finds tools on PATH, the QEMU of the guest architecture, managers, the distribution', () => {
    const f = probeSetupFacts(
      'amd64',
      deps(['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-img', '/usr/bin/sudo', '/usr/bin/apt-get']),
    );
    expect(f.present).toEqual({ 'qemu-system': true, 'qemu-img': true, firmware: true, zstd: false, socat: false });
    expect(f.managers).toEqual({ brew: false, aptGet: true, sudo: true });
    expect(f.distro).toEqual({ id: 'ubuntu', idLike: ['debian'] });
    // An arm64 guest needs qemu-system-aarch64, absent here, and its firmware.
    const arm = probeSetupFacts('arm64', deps(['/usr/bin/qemu-system-x86_64']));
    expect(arm.present['qemu-system']).toBe(false);
    expect(arm.present.firmware).toBe(false);
  });

  it('reads no os-release on macOS', () => {
    let read = false;
    const f = probeSetupFacts('arm64', deps([], { platform: 'darwin', osRelease: () => ((read = true), 'ID=x') }));
    expect(f.distro).toBeUndefined();
    expect(read).toBe(false);
  });

  it('onPath skips empty PATH entries and an unset PATH', () => {
    const seen: string[] = [];
    const isExecutable = (p: string) => (seen.push(p), false);
    expect(onPath('zstd', { env: { PATH: ':/bin:' }, isExecutable })).toBe(false);
    expect(seen).toEqual(['/bin/zstd']);
    expect(onPath('zstd', { env: {}, isExecutable })).toBe(false);
  });
});
