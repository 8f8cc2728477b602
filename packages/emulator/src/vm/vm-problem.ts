import { accelFailureReason, bootProgress } from '@stack/qemu-argv';
import type { BootEnv } from '../boot/boot-env.js';
import { EmulatorError, isEmulatorError } from '../errors.js';
import { GUEST_PANICKED } from '../plan/failure.js';
import type { Vm } from '../seams/vm.js';
import { rawTail, tail } from './logs-tail.js';

/**
 * A booting guest under KVM/HVF prints on the serial console within seconds (firmware, the kernel,
 * the contract's boot marker). On some software-nested hosts KVM runs nothing at all, without an
 * error: after this long with an empty console (and no agent), the accelerator is taken as unusable
 * for this start and the start retried on TCG.
 */
export const SILENT_BOOT_MS = 30_000;

const PANIC = /Kernel panic - not syncing: ([^\r\n]*)/;

/** QEMU run states from which the guest can never answer by itself. */
const DEAD_STATES: Record<string, string> = {
  'io-error': 'QEMU paused the guest on a disk I/O error (a full disk, or the disk file went away)',
  'guest-panicked': GUEST_PANICKED,
  'internal-error': 'QEMU stopped the guest on an internal error',
  shutdown: 'the guest shut down',
};

/**
 * Why the hardware accelerator cannot run this guest, after an attempt failed: QEMU's output says so
 * ("KVM internal error"), or the attempt ended on a silent boot (ACCEL_UNUSABLE); always undefined under TCG.
 */
export function acceleratorProblem(env: BootEnv, e?: unknown): string | undefined {
  if (env.accel === 'tcg') return undefined;
  const fromQemu = accelFailureReason(tail(env.op.config.paths.qemuLog, 40));
  if (fromQemu) return fromQemu;
  for (let c: unknown = e, d = 0; c !== undefined && d < 8; c = (c as Error).cause, d++)
    if (isEmulatorError(c) && c.code === 'ACCEL_UNUSABLE') return c.message;
  return undefined;
}

/**
 * Something is wrong with the VM itself, asked while waiting for its agent: QEMU exited, its
 * accelerator failed, its guest cannot run (paused on an I/O error, panicked), or (`booting` under a
 * hardware accelerator) the guest printed nothing for {@link SILENT_BOOT_MS}. Throws ACCEL_UNUSABLE
 * for the last; returns the reason for the others.
 */
export async function vmProblem(env: BootEnv, vm: Vm, options: { booting: boolean }): Promise<string | undefined> {
  const accel = acceleratorProblem(env);
  if (accel) return accel;
  const p = env.op.config.paths;
  if (vm.hasExited) return `QEMU exited: ${tail(p.qemuLog, 1) || 'no output'}`;
  // The contract's boot markers (guest-contract.md, "Boot"): a guest whose initramfs gave up says why.
  const console = options.booting ? rawTail(p.serialLog) : '';
  const failure = options.booting ? bootProgress(console).failure : undefined;
  if (failure) return `the guest could not boot: ${failure}`;
  // Without a pvpanic device QEMU runs on after a guest panic: its console is what says so (a panic
  // is printed at any loglevel). Seen once under QEMU 7.2's TCG at 2 s into a capture's boot.
  const panic = options.booting ? PANIC.exec(console) : null;
  if (panic) return `${GUEST_PANICKED}: ${panic[1]!.trim()}`;
  const state = await vm.control.status({ timeout: 2000 }).catch(() => undefined);
  const dead = state ? DEAD_STATES[state.status] : undefined;
  if (dead) return `${dead} (QEMU run state ${state!.status})`;
  if (
    options.booting &&
    env.accel !== 'tcg' &&
    env.op.seams.clock.now() - vm.launchedAt > SILENT_BOOT_MS &&
    tail(p.serialLog, 1) === ''
  )
    throw new EmulatorError(
      'ACCEL_UNUSABLE',
      `the guest printed nothing in ${SILENT_BOOT_MS / 1000} s under ${env.accel}`,
    );
  return undefined;
}
