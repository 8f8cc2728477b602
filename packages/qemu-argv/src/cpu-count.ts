import { availableParallelism } from 'node:os';
import { SNAPSHOT_CPUS } from './spec.js';
import type { Accel } from '@stack/internal';

/**
 * vCPUs for a guest on this host: 4 (the contract's snapshot value) with a hardware accelerator, and
 * under TCG no more than the host has cores. Each TCG vCPU is a host thread translating and running
 * guest code: on a 2-core host, 4 vCPUs made a resume with rotation 1.4 s instead of 1.1 s, and three
 * such guests at once starved one another's boot for minutes.
 */
export function defaultCpuCount(accel: Accel, hostCores = availableParallelism()): number {
  return accel === 'tcg' ? Math.max(1, Math.min(SNAPSHOT_CPUS, hostCores)) : SNAPSHOT_CPUS;
}
