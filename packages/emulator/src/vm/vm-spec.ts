import { mkdir, stat, writeFile } from 'node:fs/promises';
import {
  buildArgv,
  firmwareIdentity,
  formatQemuVersion,
  hostIdentity,
  supportsReadOnlyPrivateRam,
  type VmSpecInput,
} from '@stack/qemu-argv';
import type { CompatibilityKey } from '@stack/snapshot-cache';
import type { BootEnv } from '../boot/boot-env.js';
import type { SnapshotFormat } from '../host/snapshot-support.js';
import { portForwards, runtimeEnv } from '../image/config-disk.js';
import { keyPorts } from '../image/port-retargeting.js';
import { SHARE_SLOTS } from '../host/wide-shares.js';

/** What one QEMU runs: its layout, disks, RAM and shares. */
export interface VmShape {
  layout: 'cold' | 'snapshot';
  /** The system disk (a qcow2 overlay). */
  system: string;
  /** The config disk. */
  config: string;
  /** Firmware or direct kernel boot. @default the start's image's */
  boot?: Pick<VmSpecInput, 'firmware' | 'kernel'>;
  /** Waits for a saved state (`-incoming defer`). @default false */
  incoming?: boolean;
  shares?: readonly string[];
  /** Share slots whose 9p device is on the command line (a saved session had them plugged). @default 0 */
  pluggedShares?: number;
  /** Guest RAM in this file, `shared` (written through) or `private` (copy-on-write). @default anonymous */
  memoryFile?: { path: string; mode: 'shared' | 'private' };
}

/** The VM as QEMU should run it; disks and sockets from the home layout. */
export function vmSpec(env: BootEnv, shape: VmShape): VmSpecInput {
  const p = env.op.config.paths;
  const version = env.host.probe.version;
  return {
    arch: env.op.config.arch,
    accel: env.accel,
    memoryMiB: env.op.config.memoryMiB,
    cpus: env.cpus,
    layout: shape.layout,
    incoming: shape.incoming ?? false,
    // A loaded state must not run before the runtime says so (`cont`): QEMU would otherwise start the
    // guest the moment the load completes, before the state is marked spent (see vm/launch.ts).
    paused: shape.incoming ?? false,
    ...(shape.memoryFile
      ? {
          memoryFile: {
            ...shape.memoryFile,
            readOnlyOpen: shape.memoryFile.mode === 'private' && supportsReadOnlyPrivateRam(version),
          },
        }
      : {}),
    ...(shape.boot ?? env.boot),
    drives:
      shape.layout === 'snapshot'
        ? { system: shape.system, seed: p.seedPhantom, bundle: p.bundlePhantom, config: shape.config }
        : { system: shape.system, config: shape.config },
    forwards: portForwards(env.op.config),
    network: env.op.config.guestNetwork,
    qmpSocket: p.qmpSocket,
    agentSocket: p.agentSocket,
    serialLog: p.serialLog,
    shareSlots: SHARE_SLOTS,
    shares: [...(shape.shares ?? [])],
    // Refused writes on the host too: the guest's `ro` mount alone is the guest's to undo.
    readonlyShares: (shape.shares ?? []).filter((d) => env.readonlyShares.includes(d)),
    pluggedShares: shape.pluggedShares ?? 0,
  };
}

/**
 * Compatibility key of a snapshot for this start in `format` (docs/ARCHITECTURE.md, "Snapshots and
 * sessions"). The host ports in it are the neutral ones for an image that retargets them (`keyPorts`).
 */
export function compatibilityKey(env: BootEnv, format: SnapshotFormat): CompatibilityKey {
  const spec = vmSpec(env, { layout: 'snapshot', system: 'system', config: 'config' });
  const config = env.op.config;
  return {
    imageDigest: env.image.digest,
    qemuVersion: formatQemuVersion(env.host.probe.version),
    accel: env.accel,
    layoutFingerprint: buildArgv(spec).fingerprint,
    configDisk: runtimeEnv(config, '', keyPorts(config.ports, env.portVerdict)),
    format,
    ...(env.accel !== 'tcg' ? { host: hostIdentity({ platform: config.host.platform }) } : {}),
    ...(env.boot.firmware ? { firmware: firmwareIdentity(env.boot.firmware) } : {}),
    ...(env.baseEnv.digest ? { baseEnv: env.baseEnv.digest } : {}),
  };
}

const PHANTOM_BYTES = 1 << 20;

/**
 * The phantom seed and bundle slots of the snapshot layout: 1 MiB of zeros, as at build time. QEMU
 * attaches them read-only, so files of the right size from an earlier start are kept.
 */
export async function writePhantoms(env: BootEnv): Promise<void> {
  const p = env.op.config.paths;
  await mkdir(p.vm, { recursive: true, mode: 0o700 });
  for (const f of [p.seedPhantom, p.bundlePhantom]) {
    if ((await stat(f).catch(() => undefined))?.size !== PHANTOM_BYTES) await writeFile(f, Buffer.alloc(PHANTOM_BYTES));
  }
}
