import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '@stack/snapshot-cache';
import type { Arch, Ports } from '../config/resolve-config.js';

export type StartMode = 'resumed' | 'cold';

/** Milliseconds from the start command to each step. */
export interface Timings {
  [step: string]: number;
}

/** `run/state.json`: what `status`, `stop`, `run` and `env` need to find the running instance. */
export interface InstanceState {
  version: 1;
  pid: number;
  /** /proc/<pid>/stat start time, so a reused pid is not mistaken for our QEMU. */
  pidStartTime: string | undefined;
  arch: Arch;
  accel: 'kvm' | 'hvf' | 'tcg';
  accelReason: string;
  /** How the guest booted when this instance (or its snapshot) started cold: its kernel directly, or firmware. */
  boot?: 'direct-kernel' | 'firmware';
  mode: StartMode;
  /** Why this start did not resume a snapshot (cold mode only). */
  coldReason?: string;
  snapshotId?: string;
  image: string;
  ports: Ports;
  portPrefix: string;
  hostShare?: string;
  configFile?: string;
  rotated: boolean;
  startedAt: string;
  timings: Timings;
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
  await writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export async function clearState(path: string): Promise<void> {
  await rm(path, { force: true });
}

/**
 * True when `pid` is alive and is the process that was recorded: not a zombie (a child nobody
 * reaped), and the same /proc start time where known (a reused pid is another process).
 */
export function isSameProcess(pid: number, startTime: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  let fields: string[];
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return true; // no /proc: trust kill(0)
  }
  return fields[0] !== 'Z' && !(startTime && fields[19] !== startTime);
}
