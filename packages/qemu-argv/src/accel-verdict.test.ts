import { describe, expect, it } from 'vitest';
import { accelFailureReason, chooseAccelerator } from './accel-verdict.js';
import type { HostProbe } from './host-probe.js';

const probe = (over: Partial<HostProbe> = {}): HostProbe => ({
  binary: 'qemu-system-x86_64',
  version: { major: 10, minor: 0, micro: 2 },
  mappedRam: true,
  templateRam: true,
  accelerators: ['kvm', 'tcg'],
  kvmUnavailable: undefined,
  firmware: undefined,
  ...over,
});
const opts = { hostArch: 'amd64' as const, guestArch: 'amd64' as const, verdicts: [], keys: { kvm: 'k1' } };

describe('accelerator choice', () => {
  it('recognises what QEMU prints when KVM cannot run a stock kernel (software-nested kvm_pvm)', () => {
    expect(
      accelFailureReason('qemu-system-x86_64: error: failed to set MSR 0x10a to 0x0\nqemu: kvm_buf_set_msrs'),
    ).toContain('failed to set MSR 0x10a');
    expect(accelFailureReason('KVM internal error. Suberror: 1\nextra data[0]: ...\nemulation failure')).toBe(
      'KVM internal error. Suberror: 1',
    );
    expect(accelFailureReason('Linux version 6.1.0 ...')).toBeUndefined();
  });
  it('uses KVM when usable and not known to fail', () => {
    expect(chooseAccelerator(probe(), opts).accel).toBe('kvm');
  });
  it('falls back to TCG with a reason when KVM is remembered as unable to run the guest', () => {
    const c = chooseAccelerator(probe(), {
      ...opts,
      verdicts: [{ key: 'k1', accel: 'kvm', usable: false, reason: 'KVM internal error. Suberror: 1', decidedAt: '' }],
    });
    expect(c).toEqual({
      accel: 'tcg',
      reason: 'kvm cannot run the guest on this host: KVM internal error. Suberror: 1',
    });
  });
  it('re-decides when the verdict key changed (new kernel or QEMU)', () => {
    const c = chooseAccelerator(probe(), {
      ...opts,
      verdicts: [{ key: 'old', accel: 'kvm', usable: false, decidedAt: '' }],
    });
    expect(c.accel).toBe('kvm');
  });
  it('falls back when /dev/kvm is not usable, and for a foreign guest architecture', () => {
    expect(chooseAccelerator(probe({ kvmUnavailable: '/dev/kvm does not exist' }), opts)).toEqual({
      accel: 'tcg',
      reason: '/dev/kvm does not exist',
    });
    expect(chooseAccelerator(probe(), { ...opts, guestArch: 'arm64' }).accel).toBe('tcg');
  });
  it('honours an override, and refuses one QEMU lacks', () => {
    expect(chooseAccelerator(probe(), { ...opts, override: 'tcg' })).toEqual({
      accel: 'tcg',
      reason: 'EMULATOR_ACCEL=tcg',
    });
    expect(() => chooseAccelerator(probe(), { ...opts, override: 'hvf' })).toThrow(/does not support it/);
  });
});

describe('accelerator failures QEMU prints on other hosts', () => {
  it('macOS HVF: missing entitlement, unsupported host, no access', () => {
    expect(accelFailureReason('qemu-system-aarch64: Error: HV_DENIED')).toBe('qemu-system-aarch64: Error: HV_DENIED');
    expect(accelFailureReason('qemu-system-aarch64: -accel hvf: Error: HV_UNSUPPORTED')).toContain('HV_UNSUPPORTED');
    expect(accelFailureReason('qemu-system-aarch64: Could not access HVF')).toContain('Could not access HVF');
  });
  it('Linux arm64 KVM: "kvm run failed"', () => {
    expect(accelFailureReason('error: kvm run failed Function not implemented\n PC=ffff800010b4 X00=...')).toContain(
      'kvm run failed',
    );
  });
});
