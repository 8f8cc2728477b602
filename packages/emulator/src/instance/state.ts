import { readFile, rm } from 'node:fs/promises';
import { type Accel, writeFileAtomic } from '@stack/internal';
import type { QemuVersion } from '@stack/qemu-argv';
import type { CompatibilityKey } from '@stack/snapshot-cache';
import type { Arch, Ports } from '../config/resolve-config.js';
import type { SnapshotFormat } from '../host/snapshot-support.js';

/** `resumed`: a golden snapshot; `session`: the saved session; `cold`: a boot (fresh disk or the session's). */
export type StartMode = 'resumed' | 'session' | 'cold';

/**
 * What `stop` keeps: the session (its disk; and its RAM state when `save` says how), or nothing
 * (`ephemeral`: the disk is run/vm's, thrown away at the next start).
 */
export type Persistence =
  | {
      kind: 'session';
      save?: { key: CompatibilityKey; format: SnapshotFormat; cpus: number; qemuVersion: QemuVersion };
    }
  | { kind: 'ephemeral' };

/** Milliseconds from the start command to each step. */
export interface Timings {
  [step: string]: number;
}

/** `run/state.json`: what `status`, `stop`, `run` and `env` need to find the running instance. */
export interface InstanceState {
  version: 1;
  pid: number;
  /** The process's start time (snapshot-cache processStartTime), so a reused pid is not mistaken for our QEMU. */
  pidStartTime: string | undefined;
  arch: Arch;
  accel: Accel;
  accelReason: string;
  /** How the guest booted when this instance (or its snapshot) started cold: its kernel directly, or firmware. */
  /** Its kernel directly, UEFI firmware (OVMF, AAVMF), or the BIOS (SeaBIOS) booting the disk's boot code. */
  boot?: 'direct-kernel' | 'firmware' | 'bios';
  mode: StartMode;
  /** QEMU's version, e.g. "10.0.2". */
  qemuVersion?: string;
  /** How the resumed snapshot's RAM is stored (resumed mode only). */
  snapshotFormat?: 'mapped-ram' | 'stream' | 'template-ram';
  /** Why this start did not resume a snapshot (cold mode only). */
  coldReason?: string;
  snapshotId?: string;
  image: string;
  ports: Ports;
  portPrefix: string;
  /** Host directories shared with the guest, one per slot (mounted at /host<dir>). */
  shares?: string[];
  /** Written by versions before shares: the one shared directory. */
  hostShare?: string;
  configFile?: string;
  /** True when this start gave the instance fresh secrets (`secrets === 'fresh'`). */
  rotated: boolean;
  /** Fresh secrets, the public placeholders (rotation off), or the secrets the disk already had. */
  secrets?: 'fresh' | 'placeholders' | 'kept';
  startedAt: string;
  timings: Timings;
  /** Absent in state files of versions before sessions: ephemeral. */
  persistence?: Persistence;
}

export async function readState(path: string): Promise<InstanceState | undefined> {
  try {
    const s = JSON.parse(await readFile(path, 'utf8')) as InstanceState;
    return s.version === 1 && typeof s.pid === 'number' ? s : undefined;
  } catch {
    return undefined;
  }
}

export async function writeState(path: string, state: InstanceState): Promise<void> {
  // Rewritten at every start, and moot after a crash (no VM runs then): no fsync (see AtomicWriteOptions).
  await writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600, fsync: false });
}

export async function clearState(path: string): Promise<void> {
  await rm(path, { force: true });
}
