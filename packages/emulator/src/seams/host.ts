import type { ProcessMemory } from '@stack/internal';
import type { Ports } from '../config/resolve-config.js';
import type { ServiceHealth } from '../guest/health.js';
import type { LoopbackResponse } from '../guest/loopback-http.js';

/** Milliseconds since the epoch, and waiting. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Other processes: only ever touched once proven to be the one meant. */
export interface Processes {
  /** This process's own pid (recorded as the starter of a VM). */
  readonly self: number;
  /** The start time of `pid` (an opaque token), undefined when it does not exist. */
  startTime(pid: number): string | undefined;
  /** True while `pid` exists with that start time. */
  alive(pid: number, startTime: string | undefined): boolean;
  /** True when `pid` has that start time and its command line contains every one of `needles`. */
  proven(pid: number, startTime: string | undefined, needles: readonly string[]): boolean;
  /** Sends a signal; a process already gone is not an error. */
  kill(pid: number, signal: NodeJS.Signals): void;
}

/** The guest's forwarded services, probed from the host on 127.0.0.1. */
export interface Services {
  /** Probes until every service answers 200 or `timeoutMs` passes. */
  waitHealthy(
    ports: Ports,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<{ healthy: boolean; services: ServiceHealth[] }>;
  /** One request to a forwarded port; never throws (status 0 when nothing answered). */
  request(
    port: number,
    path: string,
    options?: { method?: 'GET' | 'POST'; timeout?: number; headers?: Record<string, string>; json?: unknown },
  ): Promise<LoopbackResponse>;
}

/** The file systems the home lives on. */
export interface DiskSpace {
  /** Bytes free to this user on the file system of `dir`, or undefined when it cannot be asked. */
  freeBytes(dir: string): Promise<number | undefined>;
  /**
   * Whether reading a hole of a file mapped privately allocates a page of the file system of `dir`
   * (tmpfs: mm/shmem.c, shmem_fault), so that the read is SIGBUS once it is full. Elsewhere a hole
   * reads as the shared zero page and takes no space.
   */
  fillsHolesOnRead(dir: string): Promise<boolean>;
}

/** Memory: the host's available memory and a process's (QEMU's) own, on the platform given. */
export interface MemoryInfo {
  /** MiB the host can give without swapping (Linux MemAvailable, macOS vm_stat); undefined when unknown. */
  availableMiB(platform: NodeJS.Platform): number | undefined;
  /** RSS (and on Linux PSS) of `pid`; undefined when it is gone or unreadable. */
  processMemory(pid: number, platform: NodeJS.Platform): ProcessMemory | undefined;
}
