import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../../test/fake-world.js';
import { testEnv, testOp } from '../../test/boot-env.js';
import type { Vm } from '../seams/vm.js';
import { acceleratorProblem, SILENT_BOOT_MS, vmProblem } from './vm-problem.js';

/** A start's environment whose guest console and QEMU log say what they are given. */
function setup(accel: 'kvm' | 'hvf' | 'tcg', logs: { serial?: string; qemu?: string } = {}) {
  const w = new FakeWorld();
  const env = testEnv(testOp(w), w.image(), accel);
  const p = env.op.config.paths;
  mkdirSync(p.vm, { recursive: true });
  writeFileSync(p.serialLog, logs.serial ?? '');
  writeFileSync(p.qemuLog, logs.qemu ?? '');
  /** A VM launched `ageMs` ago whose QEMU reports `status`. */
  const vm = (ageMs: number, status = 'running'): Vm =>
    ({
      launchedAt: w.clock.now() - ageMs,
      hasExited: false,
      control: { status: async () => ({ running: status === 'running', status }) },
    }) as unknown as Vm;
  return { env, vm };
}

describe('vmProblem: why waiting for the agent is pointless', () => {
  it('a booting guest that printed nothing for 30 s under kvm or hvf is an accelerator failure (silent nested KVM)', async () => {
    for (const accel of ['kvm', 'hvf'] as const) {
      const { env, vm } = setup(accel);
      expect(await vmProblem(env, vm(SILENT_BOOT_MS - 1000), { booting: true })).toBeUndefined();
      const silent = await vmProblem(env, vm(SILENT_BOOT_MS + 1000), { booting: true }).catch((e: unknown) => e);
      const message = `the guest printed nothing in 30 s under ${accel}`;
      expect(silent).toMatchObject({ code: 'ACCEL_UNUSABLE', message });
      expect(acceleratorProblem(env, silent)).toBe(message);
    }
  });

  it('is not one for a guest that printed (its boot marker), for a resumed guest, or under TCG', async () => {
    const printed = setup('kvm', { serial: 'STACK_BOOT_STAGE initramfs\n' });
    expect(await vmProblem(printed.env, printed.vm(SILENT_BOOT_MS * 3), { booting: true })).toBeUndefined();
    const resumed = setup('kvm');
    expect(await vmProblem(resumed.env, resumed.vm(SILENT_BOOT_MS * 3), { booting: false })).toBeUndefined();
    const tcg = setup('tcg');
    expect(await vmProblem(tcg.env, tcg.vm(SILENT_BOOT_MS * 3), { booting: true })).toBeUndefined();
  });

  // Regression (issue 29, 14): a VM paused on an I/O error (QEMU's default werror=enospc) or a panicked
  // guest looked the same as a slow one, for the whole agent timeout.
  it('a guest that cannot run (paused on an I/O error, panicked) is named at once', async () => {
    const { env, vm } = setup('tcg');
    expect(await vmProblem(env, vm(1000, 'io-error'), { booting: true })).toMatch(/disk I\/O error.*io-error/);
    expect(await vmProblem(env, vm(1000, 'guest-panicked'), { booting: false })).toMatch(/kernel panicked/);
    expect(await vmProblem(env, vm(1000, 'paused'), { booting: false })).toBeUndefined();
  });

  // Regression (issue 29, 14): the initramfs's reason went to /dev/kmsg, which loglevel=3 hides, and
  // the host waited out the whole agent timeout on a guest that had powered off.
  it('a guest whose initramfs gave up (STACK_BOOT_FAILED) is named with its reason', async () => {
    const { env, vm } = setup('tcg', {
      serial:
        'STACK_BOOT_STAGE initramfs\nSTACK_BOOT_FAILED stack-initramfs: cannot mount the root file system; powering off\n',
    });
    expect(await vmProblem(env, vm(1000), { booting: true })).toBe(
      'the guest could not boot: stack-initramfs: cannot mount the root file system; powering off',
    );
  });

  // Regression: under QEMU 7.2's TCG a capture's guest panicked 2 s into its boot, QEMU ran on, and
  // the start waited the whole 240 s for its agent before giving up on the capture.
  it('a booting guest whose console shows a kernel panic is named at once (QEMU runs on after one)', async () => {
    const { env, vm } = setup('tcg', {
      serial:
        'STACK_BOOT_STAGE initramfs\n[    2.270981] Kernel panic - not syncing: Fatal exception in interrupt\n[    5.7] ---[ end Kernel panic - not syncing: Fatal exception in interrupt ]---\n',
    });
    expect(await vmProblem(env, vm(1000), { booting: true })).toBe(
      'the guest kernel panicked: Fatal exception in interrupt',
    );
    expect(await vmProblem(env, vm(1000), { booting: false })).toBeUndefined();
  });

  it("QEMU's own accelerator errors win, under hardware accelerators only", () => {
    const kvm = setup('kvm', { qemu: 'KVM internal error. Suberror: 1\n' });
    expect(acceleratorProblem(kvm.env)).toBe('KVM internal error. Suberror: 1');
    const tcg = setup('tcg', { qemu: 'KVM internal error. Suberror: 1\n' });
    expect(acceleratorProblem(tcg.env)).toBeUndefined();
  });
});
