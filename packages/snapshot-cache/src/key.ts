import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SnapshotError } from './errors.js';

/**
 * Everything a resumed guest depends on. RAM state only loads into the same QEMU, accelerator and
 * device tree, and the guest keeps what it read from the config disk at boot.
 */
export const compatibilityKeySchema = z.object({
  /** sha256 of the base image the snapshot's disk is layered on. */
  imageDigest: z.string().regex(/^[0-9a-f]{64}$/),
  qemuVersion: z.string().min(1),
  accel: z.enum(['kvm', 'hvf', 'tcg']),
  /** @stack/qemu-argv fingerprint: machine, CPU, RAM, vCPUs, devices and their order. */
  layoutFingerprint: z.string().min(1),
  /** The config-disk values the guest read at boot (ports, prefix): non-secret by contract. */
  configDisk: z.record(z.string(), z.string()),
  /** How the RAM is stored; each format resumes differently. */
  format: z.enum(['mapped-ram', 'stream', 'template-ram']),
  /**
   * Under kvm/hvf (`-cpu host`): the CPU the guest saw and the host kernel. Absent under TCG, whose
   * `-cpu max` is QEMU's own (its version is in the key).
   */
  host: z.object({ cpu: z.string(), cpuFlags: z.string(), os: z.string() }).optional(),
  /** Identity of the `-bios` file, when one is used: its ROM is part of the RAM state. */
  firmware: z.string().optional(),
  /** sha256 of the config disk's base.env, when not empty: the guest read it at boot. */
  baseEnv: z.string().optional(),
});

export type CompatibilityKey = z.infer<typeof compatibilityKeySchema>;

/** The key, checked; SNAPSHOT_INVALID_KEY naming each bad field (a caller's key never escapes as a raw ZodError). */
export function parseKey(key: unknown): CompatibilityKey {
  const r = compatibilityKeySchema.safeParse(key);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.join('.') || 'key'}: ${i.message}`).join('; ');
  throw new SnapshotError('SNAPSHOT_INVALID_KEY', `invalid snapshot compatibility key (${issues})`, { cause: r.error });
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  return value;
}

/** A stable id for the key (order of object keys does not matter). */
export function keyId(key: CompatibilityKey): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(parseKey(key))))
    .digest('hex')
    .slice(0, 32);
}

export interface KeyDifference {
  component: string;
  was: string;
  now: string;
}

/** What differs between a stored key and the wanted one, component by component. */
export function diffKeys(stored: CompatibilityKey, wanted: CompatibilityKey): KeyDifference[] {
  const out: KeyDifference[] = [];
  for (const c of [
    'imageDigest',
    'qemuVersion',
    'accel',
    'layoutFingerprint',
    'format',
    'firmware',
    'baseEnv',
  ] as const) {
    if (stored[c] !== wanted[c]) out.push({ component: c, was: stored[c] ?? '(none)', now: wanted[c] ?? '(none)' });
  }
  for (const c of ['cpu', 'cpuFlags', 'os'] as const) {
    const was = stored.host?.[c] ?? '(none)';
    const now = wanted.host?.[c] ?? '(none)';
    if (was !== now) out.push({ component: `host.${c}`, was, now });
  }
  const names = new Set([...Object.keys(stored.configDisk), ...Object.keys(wanted.configDisk)]);
  for (const n of [...names].sort()) {
    const was = stored.configDisk[n] ?? '(unset)';
    const now = wanted.configDisk[n] ?? '(unset)';
    if (was !== now) out.push({ component: `configDisk.${n}`, was, now });
  }
  return out;
}

/** One line for the user: why a stored snapshot cannot be used. */
export function describeDifferences(diffs: KeyDifference[]): string {
  const short = (s: string) => (s.length > 16 ? `${s.slice(0, 12)}…` : s);
  return diffs.map((d) => `${d.component} changed (${short(d.was)} -> ${short(d.now)})`).join(', ');
}
