import { describe, expect, it } from 'vitest';
import { buildArgv } from './argv.js';
import { isQemuArgvError } from './errors.js';
import type { VmSpecInput } from './spec.js';

const base = (over: Partial<VmSpecInput> = {}): VmSpecInput => ({
  arch: 'amd64',
  accel: 'tcg',
  memoryMiB: 4096,
  cpus: 4,
  layout: 'snapshot',
  drives: {
    system: '/home/u/.stack/emulator/run/vm/disk.qcow2',
    seed: '/r/seed.phantom',
    bundle: '/r/bundle.phantom',
    config: '/r/runtime-config.iso',
  },
  forwards: [
    { name: 'dashboard', hostPort: 26700, guestPort: 8101 },
    { name: 'backend', hostPort: 26701, guestPort: 8102 },
    { name: 'minio', hostPort: 26702, guestPort: 9090 },
    { name: 'inbucket', hostPort: 26703, guestPort: 9001 },
    { name: 'mock-oauth', hostPort: 26704, guestPort: 26704 },
  ],
  qmpSocket: '/r/monitor.sock',
  agentSocket: '/r/qga.sock',
  serialLog: '/r/serial.log',
  ...over,
});

describe('system disk discards (image builds)', () => {
  it('unmap on the system drive only, and the same guest view', () => {
    const plain = buildArgv(base());
    const build = buildArgv(base({ drives: { ...base().drives, systemDiscard: true } }));
    const drives = build.argv.filter((a) => a.startsWith('file='));
    expect(drives[0]).toMatch(
      /^file=\/home\/u\/.*disk\.qcow2,format=qcow2,if=none,id=system,discard=unmap,detect-zeroes=unmap$/,
    );
    expect(drives.slice(1).some((d) => d.includes('discard'))).toBe(false);
    expect(plain.argv.some((a) => a.includes('discard'))).toBe(false);
    expect(build.fingerprint).toBe(plain.fingerprint);
  });
});

describe('golden command lines', () => {
  for (const arch of ['amd64', 'arm64'] as const) {
    for (const accel of ['kvm', 'hvf', 'tcg'] as const) {
      for (const layout of ['cold', 'snapshot'] as const) {
        it(`${arch} ${accel} ${layout}`, async () => {
          const spec = base({
            arch,
            accel,
            layout,
            firmware: arch === 'arm64' ? '/usr/share/AAVMF/AAVMF_CODE.fd' : undefined,
            incoming: layout === 'snapshot',
            shares: ['/home/u/project'],
            memoryMiB: layout === 'cold' ? 6144 : 4096,
          });
          const { binary, argv } = buildArgv(spec);
          await expect(`${[binary, ...argv].join('\n')}\n`).toMatchFileSnapshot(
            `__golden__/${arch}-${accel}-${layout}.argv`,
          );
        });
      }
    }
  }

  it('amd64 tcg snapshot, direct kernel boot', async () => {
    const kernel = {
      path: '/c/ref.boot/vmlinuz',
      initrd: '/c/ref.boot/initrd.img',
      append: 'root=PARTUUID=x ro console=ttyS0,115200',
    };
    const { binary, argv } = buildArgv(base({ kernel, incoming: true }));
    await expect(`${[binary, ...argv].join('\n')}\n`).toMatchFileSnapshot('__golden__/amd64-tcg-snapshot-kernel.argv');
  });
});

describe('buildArgv', () => {
  it('binds every forward to 127.0.0.1 only', () => {
    const netdev = buildArgv(base()).argv.find((a) => a.startsWith('user,id=net0'))!;
    expect(netdev.match(/hostfwd=tcp:127\.0\.0\.1:\d+-:\d+/g)).toHaveLength(5);
    expect(netdev).not.toMatch(/hostfwd=tcp::/);
  });

  it('escapes commas in paths instead of breaking the option', () => {
    const { argv } = buildArgv(
      base({ drives: { system: '/tmp/a,b/disk.qcow2', seed: '/s', bundle: '/b', config: '/c' } }),
    );
    expect(argv).toContain('file=/tmp/a,,b/disk.qcow2,format=qcow2,if=none,id=system');
  });

  it('keeps the fingerprint when only host-side parts change', () => {
    const a = buildArgv(base());
    const b = buildArgv(
      base({
        qmpSocket: '/elsewhere/q.sock',
        serialLog: '/x',
        forwards: [],
        shares: ['/other', '/another'],
        drives: { system: '/o/d.qcow2', seed: '/o/s', bundle: '/o/b', config: '/o/c.iso' },
        incoming: true,
      }),
    );
    expect(b.fingerprint).toBe(a.fingerprint);
  });

  it.each([
    ['memory', { memoryMiB: 2048 }],
    ['vCPUs', { cpus: 2 }],
    ['CPU model', { cpu: 'qemu64' }],
    ['accelerator', { accel: 'kvm' as const }],
    ['layout', { layout: 'cold' as const }],
    ['number of share slots', { shareSlots: 2 }],
  ])('changes the fingerprint when the %s changes', (_what, over) => {
    expect(buildArgv(base(over)).fingerprint).not.toBe(buildArgv(base()).fingerprint);
  });

  it('fingerprints the boot path: firmware, direct kernel and its command line, not the file paths', () => {
    const kernel = { path: '/a/vmlinuz', initrd: '/a/initrd.img', append: 'root=PARTUUID=x ro' };
    const direct = buildArgv(base({ kernel })).fingerprint;
    expect(direct).not.toBe(buildArgv(base()).fingerprint);
    expect(direct).not.toBe(buildArgv(base({ kernel, firmware: '/usr/share/ovmf/OVMF.fd' })).fingerprint);
    expect(direct).not.toBe(buildArgv(base({ kernel: { ...kernel, append: 'root=PARTUUID=x ro quiet' } })).fingerprint);
    expect(buildArgv(base({ kernel: { ...kernel, path: '/b/vmlinuz', initrd: '/b/initrd.img' } })).fingerprint).toBe(
      direct,
    );
  });

  it('refuses specs that cannot work, saying why', () => {
    expect(() => buildArgv(base({ arch: 'arm64' }))).toThrow(/arm64 needs UEFI firmware/);
    expect(() => buildArgv(base({ layout: 'cold', incoming: true }))).toThrow(/snapshot layout/);
    expect(() => buildArgv(base({ drives: { system: '/s', config: '/c' } }))).toThrow(/seed and bundle slots/);
    expect(() => buildArgv(base({ memoryMiB: 12 }))).toThrow(/invalid VM spec \(memoryMiB: /);
    for (const bad of [base({ arch: 'arm64' }), base({ memoryMiB: 12 })]) {
      const err = (() => {
        try {
          buildArgv(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(isQemuArgvError(err) && err.code).toBe('ARGV_INVALID_SPEC');
    }
  });
});

describe('guest network reach', () => {
  const netdev = (argv: string[]) => argv[argv.indexOf('-netdev') + 1]!;

  it('isolated by default: restrict=on, and the forwards still bound to 127.0.0.1', () => {
    const value = netdev(buildArgv(base()).argv);
    expect(value).toMatch(/^user,id=net0,restrict=on,hostfwd=tcp:127\.0\.0\.1:26700-:8101,/);
    expect(value.match(/hostfwd=tcp:127\.0\.0\.1:\d+-:\d+/g)).toHaveLength(5);
    expect(netdev(buildArgv(base({ network: 'isolated', forwards: [] })).argv)).toBe('user,id=net0,restrict=on');
  });

  it('outbound, when asked: restrict=off, said explicitly', () => {
    expect(netdev(buildArgv(base({ network: 'outbound', forwards: [] })).argv)).toBe('user,id=net0,restrict=off');
  });

  it('host-side only: the fingerprint is the same either way (a snapshot resumes under both)', () => {
    expect(buildArgv(base({ network: 'outbound' })).fingerprint).toBe(buildArgv(base()).fingerprint);
  });

  it('refuses an unknown mode', () => {
    expect(() => buildArgv(base({ network: 'open' as 'outbound' }))).toThrow(/invalid VM spec \(network: /);
  });
});

describe('shares', () => {
  it('one fsdev per shared directory, all host-only; more shares than slots is refused', () => {
    const { argv } = buildArgv(base({ shares: ['/a', '/b,c'] }));
    expect(argv.filter((a) => a.startsWith('local,id=share'))).toEqual([
      'local,id=share0,path=/a,security_model=none',
      'local,id=share1,path=/b,,c,security_model=none',
    ]);
    expect(argv.filter((a) => a.startsWith('pcie-root-port'))).toHaveLength(4);
    // A read-only share is refused writes by QEMU itself; host-side only, so the layout is the same.
    const ro = buildArgv(base({ shares: ['/a', '/b,c'], readonlyShares: ['/b,c'] }));
    expect(ro.argv.filter((a) => a.startsWith('local,id=share'))).toEqual([
      'local,id=share0,path=/a,security_model=none',
      'local,id=share1,path=/b,,c,security_model=none,readonly=on',
    ]);
    expect(ro.fingerprint).toBe(buildArgv(base({ shares: ['/a', '/b,c'] })).fingerprint);
    expect(() => buildArgv(base({ shares: ['/1', '/2', '/3'], shareSlots: 2 }))).toThrow(
      /3 shares, but the layout has 2 slots/,
    );
  });

  it('plugged shares (a saved session) put the hot-plugged device on the command line, after the root ports, and into the layout', () => {
    const plain = buildArgv(base({ shares: ['/a', '/b'] }));
    const plugged = buildArgv(base({ shares: ['/a', '/b'], pluggedShares: 1 }));
    const i = plugged.argv.indexOf('virtio-9p-pci,id=share0-dev,fsdev=share0,mount_tag=stackshare0,bus=share-port0');
    expect(i).toBeGreaterThan(plugged.argv.lastIndexOf('pcie-root-port,id=share-port3,bus=pcie.0,chassis=4'));
    expect(plugged.argv.filter((a) => a.startsWith('virtio-9p-pci'))).toHaveLength(1);
    expect(plugged.fingerprint).not.toBe(plain.fingerprint);
    // Where the fsdev points is host-side only.
    expect(buildArgv(base({ shares: ['/c', '/d'], pluggedShares: 1 })).fingerprint).toBe(plugged.fingerprint);
    expect(() => buildArgv(base({ shares: ['/a'], pluggedShares: 2 }))).toThrow(/2 plugged shares, but only 1/);
  });
});

describe('socket paths', () => {
  it('a monitor socket too long for the platform is refused up front, naming it', () => {
    const long = `/home/someone/${'x'.repeat(90)}/monitor.sock`;
    expect(() => buildArgv(base({ qmpSocket: long }), { platform: 'linux' })).toThrow(
      /unix socket path .*monitor\.sock is \d+ bytes, more than the 107 linux allows/,
    );
    const mac = `/Users/someone/${'y'.repeat(85)}/q.sock`; // 107 bytes
    expect(() => buildArgv(base({ agentSocket: mac }), { platform: 'darwin' })).toThrow(
      /more than the 103 darwin allows/,
    );
    expect(() => buildArgv(base({ agentSocket: mac }), { platform: 'linux' })).not.toThrow();
  });
});

describe('RAM in a file (template snapshots)', () => {
  const ram = (argv: string[]) => argv[argv.indexOf('-object') + 1];
  it('a shared file for the capture, a private one for resumes: under the default RAM id, outside the fingerprint', () => {
    const plain = buildArgv(base());
    const capture = buildArgv(base({ memoryFile: { path: '/c/ram,1.img', mode: 'shared' } }));
    const resume = buildArgv(base({ memoryFile: { path: '/c/ram.img', mode: 'private', readOnlyOpen: true } }));
    expect(ram(capture.argv)).toBe('memory-backend-file,id=pc.ram,size=4096M,mem-path=/c/ram,,1.img,share=on');
    expect(ram(resume.argv)).toBe(
      'memory-backend-file,id=pc.ram,size=4096M,mem-path=/c/ram.img,share=off,readonly=on,rom=off',
    );
    expect(capture.argv[capture.argv.indexOf('-machine') + 1]).toBe('q35,memory-backend=pc.ram');
    expect(plain.argv).not.toContain('-object');
    // The stream names RAM blocks by id: the same id keeps snapshots of either kind loadable.
    expect(capture.fingerprint).toBe(plain.fingerprint);
    expect(resume.fingerprint).toBe(plain.fingerprint);
    const arm = buildArgv(base({ arch: 'arm64', firmware: '/f.fd', memoryFile: { path: '/r.img', mode: 'private' } }));
    expect(ram(arm.argv)).toBe('memory-backend-file,id=mach-virt.ram,size=4096M,mem-path=/r.img,share=off');
    expect(arm.argv[arm.argv.indexOf('-machine') + 1]).toBe('virt,memory-backend=mach-virt.ram');
  });

  it('refuses a RAM file outside the snapshot layout, and a shared one opened read-only', () => {
    const bad = [
      base({ layout: 'cold', memoryFile: { path: '/r.img', mode: 'private' } }),
      base({ memoryFile: { path: '/r.img', mode: 'shared', readOnlyOpen: true } }),
    ];
    for (const spec of bad) {
      let err: unknown;
      try {
        buildArgv(spec);
      } catch (e) {
        err = e;
      }
      expect(isQemuArgvError(err) && err.code === 'ARGV_INVALID_SPEC').toBe(true);
      expect((err as Error).message).toMatch(/RAM file/);
    }
  });
});
