import type { Accel, VmSpecInput } from '@stack/qemu-argv';
import type { Op } from '../context/op.js';
import type { HostChoice } from '../host/accel.js';
import type { SnapshotFormat } from '../host/snapshot-support.js';
import type { BaseEnv } from '../image/base-env.js';
import type { PortVerdict } from '../image/port-retargeting.js';
import type { ResolvedImage } from '../image/image.js';
import type { Timings } from '../instance/state.js';

/**
 * What every attempt of one start needs, resolved once (prepare.ts) and never changed: a retry under
 * another accelerator gets a new one ({@link underAccel}). Only `timings` grows, as a log.
 */
export interface BootEnv {
  readonly op: Op;
  readonly host: HostChoice;
  readonly accel: Accel;
  /** vCPUs for this accelerator (`vcpuCount`). */
  readonly cpus: number;
  /** The image this start resolved: the session's pinned one when a session exists. */
  readonly image: ResolvedImage;
  /** Firmware or direct kernel boot of `image` (`guestBoot`). */
  readonly boot: Pick<VmSpecInput, 'firmware' | 'kernel'>;
  readonly baseEnv: BaseEnv;
  /**
   * Whether `image`'s guest retargets its host ports ({@link PortVerdict}): remembered per image from
   * its first capture, undefined before. A capture during the start learns it (a new env then).
   */
  readonly portVerdict: PortVerdict;
  /** `false`: `image` is known to have no clock daemon (image/clock-daemon.ts). @default unknown: try it */
  readonly clockDaemon?: false | undefined;
  /** The snapshot format to capture in, or why this QEMU cannot save snapshots here. */
  readonly snapshots: { format: SnapshotFormat } | { format: undefined; reason: string };
  /** Directories this start shares with the guest (the config file's project directory, then `--share`'s). */
  readonly shares: readonly string[];
  /** Of those (and of a resumed session's slots), the ones the guest mounts read-only. */
  readonly readonlyShares: readonly string[];
  /** Clock time of the command's start, for timings. */
  readonly t0: number;
  readonly timings: Timings;
}

/** Records a step's time since the command started (and traces it). */
export function mark(env: BootEnv, step: string): void {
  env.timings[step] = env.op.seams.clock.now() - env.t0;
  env.op.trace.event('step', { step, ms: env.timings[step] });
}

/** The same start under another accelerator (the retry under TCG). */
export function underAccel(env: BootEnv, accel: Accel, reason: string, cpus: number): BootEnv {
  return { ...env, accel, cpus, host: { ...env.host, accel, reason } };
}
