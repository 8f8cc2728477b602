import { mkdir, stat, writeFile } from 'node:fs/promises';
import {
  type Accel,
  accelFailureReason,
  buildArgv,
  firmwareIdentity,
  formatQemuVersion,
  hostIdentity,
  type VmSpecInput,
} from '@stack/qemu-argv';
import type { CompatibilityKey } from '@stack/snapshot-cache';
import type { EmulatorConfig } from '../config/resolve-config.js';
import type { Reporter } from '../report/reporter.js';
import type { HostChoice } from '../host/accel.js';
import type { BaseEnv } from '../image/base-env.js';
import { portForwards, runtimeEnv } from '../image/config-disk.js';
import type { ResolvedImage } from '../image/image.js';
import type { Session } from '../session/session.js';
import type { SnapshotFormat } from '../host/snapshot-support.js';
import type { Timings } from '../instance/state.js';
import { trace } from '../trace/trace.js';
import { tail, type VmProcess } from '../vm/vm-process.js';

/** What every boot path needs: resolved once per start. */
export interface BootContext {
  config: EmulatorConfig;
  host: HostChoice;
  accel: Accel;
  /** vCPUs for this accelerator (`vcpuCount`). */
  cpus: number;
  image: ResolvedImage;
  /** Firmware or direct kernel boot (`guestBoot`). */
  boot: Pick<VmSpecInput, 'firmware' | 'kernel'>;
  /**
   * Directories shared with the guest (the config files' project directories), one per slot; a
   * resumed session's first slots are those it had (`paths.emptyShare` for one whose directory is gone).
   */
  shares: string[];
  /** The saved session this start continues, when there is one and the start is not ephemeral. */
  session?: Session;
  /** True when this start made `session` (an accelerator retry drops it). */
  sessionCreated?: boolean;
  /** The config disk's base.env (see base-env.ts). */
  baseEnv: BaseEnv;
  /** The snapshot format to capture in, or why this QEMU cannot save snapshots here (see snapshot-support). */
  snapshots: { format: SnapshotFormat } | { format: undefined; reason: string };
  reporter: Reporter;
  signal: AbortSignal | undefined;
  /** Command start, for timings. */
  t0: number;
  timings: Timings;
  /** Set when a guest booting under a hardware accelerator printed nothing (see vmProblem). */
  silentAccel?: string;
}

export function mark(ctx: BootContext, step: string): void {
  ctx.timings[step] = Date.now() - ctx.t0;
  trace.event('step', { step, ms: ctx.timings[step] });
}

/** Host directories one instance can share at most (root ports reserved in every layout). */
export const SHARE_SLOTS = 4;

/** The VM as QEMU should run it; disks and sockets from the home layout unless overridden. */
export function vmSpec(
  ctx: BootContext,
  over: {
    layout: 'cold' | 'snapshot';
    system: string;
    config: string;
    incoming?: boolean;
    shares?: readonly string[];
    pluggedShares?: number;
    memoryFile?: VmSpecInput['memoryFile'];
  },
): VmSpecInput {
  const p = ctx.config.paths;
  return {
    arch: ctx.config.arch,
    accel: ctx.accel,
    memoryMiB: ctx.config.memoryMiB,
    cpus: ctx.cpus,
    layout: over.layout,
    incoming: over.incoming ?? false,
    ...(over.memoryFile ? { memoryFile: over.memoryFile } : {}),
    ...ctx.boot,
    drives:
      over.layout === 'snapshot'
        ? { system: over.system, seed: p.seedPhantom, bundle: p.bundlePhantom, config: over.config }
        : { system: over.system, config: over.config },
    forwards: portForwards(ctx.config),
    qmpSocket: p.qmpSocket,
    agentSocket: p.agentSocket,
    serialLog: p.serialLog,
    shareSlots: SHARE_SLOTS,
    shares: [...(over.shares ?? [])],
    pluggedShares: over.pluggedShares ?? 0,
  };
}

/** Compatibility key of a snapshot for this start in `format` (see docs/ARCHITECTURE.md, "Snapshots and sessions"). */
export function compatibilityKey(ctx: BootContext, format: SnapshotFormat): CompatibilityKey {
  const spec = vmSpec(ctx, { layout: 'snapshot', system: 'system', config: 'config' });
  return {
    imageDigest: ctx.image.digest,
    qemuVersion: formatQemuVersion(ctx.host.probe.version),
    accel: ctx.accel,
    layoutFingerprint: buildArgv(spec).fingerprint,
    configDisk: runtimeEnv(ctx.config, ''),
    format,
    ...(ctx.accel !== 'tcg' ? { host: hostIdentity({ platform: ctx.config.host.platform }) } : {}),
    ...(ctx.boot.firmware ? { firmware: firmwareIdentity(ctx.boot.firmware) } : {}),
    ...(ctx.baseEnv.digest ? { baseEnv: ctx.baseEnv.digest } : {}),
  };
}

/**
 * A limit high enough never to bind on a local file. QEMU caps a migration at 128 MiB/s by default
 * (`max-bandwidth`, meant for live migration over a shared network): saving a 290 MB session took
 * 1.9 s against 0.3 s without it (QEMU 10, TCG, mapped-ram, 4 channels).
 */
const UNLIMITED_BANDWIDTH = 100_000_000_000;

/**
 * Migration settings of each format; the same on both ends. mapped-ram's channels are threads doing
 * file I/O at fixed offsets: 4 beat 2 on a 2-core host (0.21 s against 0.27 s of migration), and the
 * file does not depend on the count. `x-ignore-shared` is always given, off too: a session resumed
 * from a template still has it on when it is saved at stop, and with it on the stream carries each
 * RAM block's address, which a loader without it misreads ("load of migration failed: Invalid
 * argument"; migration/ram.c, ram_save_setup). QEMU 4.0+ has it.
 */
export function migrationSettings(format: CompatibilityKey['format']): {
  caps: Record<string, boolean>;
  params: Record<string, unknown>;
} {
  if (format === 'mapped-ram')
    return {
      caps: { 'mapped-ram': true, multifd: true, 'x-ignore-shared': false },
      params: { 'multifd-channels': 4, 'max-bandwidth': UNLIMITED_BANDWIDTH },
    };
  // The RAM file is the template: the stream carries the device state and the small RAM blocks that
  // are not file-backed (ROMs, video RAM).
  if (format === 'template-ram')
    return { caps: { 'x-ignore-shared': true }, params: { 'max-bandwidth': UNLIMITED_BANDWIDTH } };
  return { caps: { 'x-ignore-shared': false }, params: { 'max-bandwidth': UNLIMITED_BANDWIDTH } };
}

const PHANTOM_BYTES = 1 << 20;

/**
 * The phantom seed and bundle slots of the snapshot layout: 1 MiB of zeros, as at build time. QEMU
 * attaches them read-only, so files of the right size from an earlier start are kept.
 */
export async function writePhantoms(ctx: BootContext): Promise<void> {
  const p = ctx.config.paths;
  await mkdir(p.vm, { recursive: true, mode: 0o700 });
  for (const f of [p.seedPhantom, p.bundlePhantom]) {
    if ((await stat(f).catch(() => undefined))?.size !== PHANTOM_BYTES) await writeFile(f, Buffer.alloc(PHANTOM_BYTES));
  }
}

/**
 * Why the hardware accelerator cannot run this guest: QEMU's output says so (e.g. "KVM internal
 * error"), or a booting guest stayed silent under it (see vmProblem); always undefined under TCG.
 */
export function accelFailure(ctx: BootContext): string | undefined {
  return ctx.accel !== 'tcg' ? (accelFailureReason(tail(ctx.config.paths.qemuLog, 40)) ?? ctx.silentAccel) : undefined;
}

/**
 * A booting guest under KVM/HVF prints on the serial console within seconds (firmware, then the
 * kernel). On some software-nested hosts KVM runs nothing at all, without an error: after this long
 * with an empty console (and no agent), the accelerator is taken as unusable and the start retried on TCG.
 */
export const SILENT_BOOT_MS = 30_000;

/**
 * Something went wrong with the VM itself: it exited, the accelerator failed under the guest, or (for
 * `booting` guests under a hardware accelerator) the guest printed nothing for SILENT_BOOT_MS.
 */
export function vmProblem(ctx: BootContext, vm: VmProcess, options: { booting?: boolean } = {}): string | undefined {
  const accel = accelFailure(ctx);
  if (accel) return accel;
  if (vm.hasExited) return `QEMU exited: ${tail(ctx.config.paths.qemuLog, 1) || 'no output'}`;
  if (
    options.booting &&
    ctx.accel !== 'tcg' &&
    Date.now() - vm.launchedAt > SILENT_BOOT_MS &&
    tail(ctx.config.paths.serialLog, 1) === ''
  ) {
    ctx.silentAccel = `the guest printed nothing in ${SILENT_BOOT_MS / 1000} s under ${ctx.accel}`;
    return ctx.silentAccel;
  }
  return undefined;
}
