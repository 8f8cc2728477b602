import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { accelFailureReason, chooseAccelerator, loadVerdicts, saveVerdict } from './accel-verdict.js';
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

describe('the verdicts file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'accel-verdicts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const verdict = { key: 'k1', accel: 'kvm' as const, usable: false, reason: 'nested', decidedAt: 'now' };
  const recorder = () => {
    const said: string[] = [];
    return { said, warn: (t: string) => said.push(t) };
  };

  it('keeps verdicts (one per key and accelerator), written atomically in a directory it makes; none when missing', async () => {
    const file = join(dir, 'new', 'accel-verdicts.json');
    const { said, warn } = recorder();
    expect(await loadVerdicts(file, { warn })).toEqual([]);
    await saveVerdict(file, verdict);
    await saveVerdict(file, { ...verdict, usable: true });
    expect(await loadVerdicts(file, { warn })).toEqual([{ ...verdict, usable: true }]);
    expect(readdirSync(join(dir, 'new'))).toEqual(['accel-verdicts.json']); // no temp file left
    expect(said).toEqual([]);
  });

  // Regression: the file was cast; an entry of the wrong shape was used as-is (usable: "no" is truthy).
  it.each([
    ['torn', '[{"key": "k1", "acc'],
    ['not a list', '{"key": "k1"}'],
    ['wrong-shaped', JSON.stringify([{ ...verdict, usable: 'no' }])],
    ['unknown accelerator', JSON.stringify([{ ...verdict, accel: 'whpx' }])],
  ])('reads a %s file as none, says which file, and the next verdict replaces it', async (name, text) => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, text);
    const { said, warn } = recorder();
    expect(await loadVerdicts(file, { warn })).toEqual([]);
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(`${file} is not a valid accelerator verdicts file`);
    expect(said[0]).not.toContain('\n');
    await saveVerdict(file, verdict);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([verdict]);
  });

  it('reads a file it cannot read as none, with the reason', async () => {
    const file = join(dir, 'dir.json');
    mkdirSync(file); // EISDIR, even for root
    const { said, warn } = recorder();
    expect(await loadVerdicts(file, { warn })).toEqual([]);
    expect(said[0]).toMatch(/cannot be read: .*EISDIR/);
  });
});
