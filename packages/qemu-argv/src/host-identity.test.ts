import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { firmwareIdentity, hostIdentity, parseCpuinfo } from './host-identity.js';

const x86 =
  'processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu vme sse2 avx2\n\nprocessor\t: 1\nmodel name\t: other\nflags\t\t: fpu\n';
const arm =
  'processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes sha2\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n';

describe('host identity (platform injected)', () => {
  it('Linux x86 and arm64: model and sorted flags of the first processor', () => {
    expect(parseCpuinfo(x86)).toEqual({ cpu: 'Intel(R) Xeon(R) Processor', flags: 'avx2 fpu sse2 vme' });
    expect(parseCpuinfo(arm)).toEqual({ cpu: '0x41 8 0x3 0xd0c 1', flags: 'aes asimd evtstrm fp sha2' });
    const a = hostIdentity({ platform: 'linux', readCpuinfo: () => x86, osRelease: '6.1.0-28-amd64' });
    expect(a).toMatchObject({ cpu: 'Intel(R) Xeon(R) Processor', os: 'linux 6.1.0-28-amd64' });
    expect(a.cpuFlags).toMatch(/^[0-9a-f]{16}$/);
    // One flag less is another machine.
    expect(
      hostIdentity({ platform: 'linux', readCpuinfo: () => x86.replace(' avx2', ''), osRelease: '6.1.0-28-amd64' })
        .cpuFlags,
    ).not.toBe(a.cpuFlags);
  });

  it('macOS: brand string and hw.optional through sysctl', () => {
    const asked: string[] = [];
    const id = hostIdentity({
      platform: 'darwin',
      osRelease: '24.1.0',
      sysctl: (n) => (
        asked.push(n),
        n === 'machdep.cpu.brand_string'
          ? 'Apple M2 Pro'
          : n === 'hw.optional'
            ? 'hw.optional.arm.FEAT_SHA3: 1'
            : undefined
      ),
    });
    expect(id).toMatchObject({ cpu: 'Apple M2 Pro', os: 'darwin 24.1.0' });
    expect(asked).toContain('hw.optional');
  });

  it('firmware identity changes with the file, and names a missing one', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'fw-')), 'code.fd');
    writeFileSync(f, Buffer.alloc(1024));
    const before = firmwareIdentity(f);
    expect(before).toMatch(/code\.fd:1024:\d+$/);
    writeFileSync(f, Buffer.alloc(2048));
    expect(firmwareIdentity(f)).not.toBe(before);
    expect(firmwareIdentity('/no/such.fd')).toBe('/no/such.fd:missing');
  });
});
