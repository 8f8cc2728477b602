import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accelFailure, type BootContext, migrationSettings, SILENT_BOOT_MS, vmProblem } from './boot-context.js';
import type { VmProcess } from '../vm/vm-process.js';

function context(accel: 'kvm' | 'hvf' | 'tcg', serial: string, qemuLog = ''): BootContext {
  const dir = mkdtempSync(join(tmpdir(), 'ctx-'));
  writeFileSync(join(dir, 'serial.log'), serial);
  writeFileSync(join(dir, 'qemu.log'), qemuLog);
  return {
    accel,
    config: { paths: { serialLog: join(dir, 'serial.log'), qemuLog: join(dir, 'qemu.log') } },
  } as unknown as BootContext;
}
const vm = (ageMs: number) => ({ launchedAt: Date.now() - ageMs, hasExited: false }) as VmProcess;

describe('vmProblem', () => {
  it('a booting guest that printed nothing for 30 s under kvm or hvf is an accelerator failure (silent nested KVM)', () => {
    for (const accel of ['kvm', 'hvf'] as const) {
      const ctx = context(accel, '');
      expect(vmProblem(ctx, vm(SILENT_BOOT_MS - 1000), { booting: true })).toBeUndefined();
      expect(vmProblem(ctx, vm(SILENT_BOOT_MS + 1000), { booting: true })).toBe(
        `the guest printed nothing in 30 s under ${accel}`,
      );
      expect(accelFailure(ctx)).toBe(`the guest printed nothing in 30 s under ${accel}`);
    }
  });

  it('is not one under TCG, for a guest that printed, or for a resumed guest (it prints nothing by design)', () => {
    expect(vmProblem(context('tcg', ''), vm(SILENT_BOOT_MS * 3), { booting: true })).toBeUndefined();
    expect(
      vmProblem(context('kvm', 'BdsDxe: loading Boot0001\n'), vm(SILENT_BOOT_MS * 3), { booting: true }),
    ).toBeUndefined();
    expect(vmProblem(context('kvm', ''), vm(SILENT_BOOT_MS * 3))).toBeUndefined();
  });

  it("QEMU's own accelerator errors win, under hardware accelerators only", () => {
    expect(accelFailure(context('kvm', '', 'KVM internal error. Suberror: 1\n'))).toBe(
      'KVM internal error. Suberror: 1',
    );
    expect(accelFailure(context('hvf', '', 'qemu-system-aarch64: Error: HV_DENIED\n'))).toContain('HV_DENIED');
    expect(accelFailure(context('tcg', '', 'KVM internal error. Suberror: 1\n'))).toBeUndefined();
  });
});

describe('migration settings', () => {
  it('every format sets x-ignore-shared, off unless it is the template (a session resumed from one is saved with it on otherwise)', () => {
    expect(migrationSettings('template-ram').caps).toEqual({ 'x-ignore-shared': true });
    expect(migrationSettings('mapped-ram').caps).toEqual({
      'mapped-ram': true,
      multifd: true,
      'x-ignore-shared': false,
    });
    expect(migrationSettings('stream').caps).toEqual({ 'x-ignore-shared': false });
    for (const f of ['template-ram', 'mapped-ram', 'stream'] as const)
      expect(migrationSettings(f).params['max-bandwidth']).toBeGreaterThan(10 ** 10);
  });
});
