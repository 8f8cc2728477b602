import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { readSysctl } from '@stack/internal';

/**
 * What a guest under `-cpu host` (KVM, HVF) sees of the machine and snapshots depend on: the CPU model
 * and its feature flags (a snapshot resumed on a CPU lacking a flag the guest used crashes it), and the
 * host kernel's release. A home restored on another machine must not resume a snapshot made here.
 */
export interface HostIdentity {
  cpu: string;
  /** sha256 (16 hex) of the CPU's feature flags. */
  cpuFlags: string;
  os: string;
}

export interface HostIdentityOptions {
  /** @default process.platform */
  platform?: NodeJS.Platform;
  /** Reads /proc/cpuinfo (Linux). */
  readCpuinfo?: () => string | undefined;
  /** Reads `sysctl -n <name>` (macOS); undefined when unknown. */
  sysctl?: (name: string) => string | undefined;
  /** @default os.release() */
  osRelease?: string;
}

const hash16 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

/** Sans-I/O: the model and flags of the first processor of /proc/cpuinfo (x86: model name, flags; arm64: implementer, part, Features). */
export function parseCpuinfo(text: string): { cpu: string; flags: string } {
  const first = text.split(/\n\s*\n/)[0] ?? '';
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(first)?.[1]?.trim();
  const model =
    field('model name') ??
    [
      field('CPU implementer'),
      field('CPU architecture'),
      field('CPU variant'),
      field('CPU part'),
      field('CPU revision'),
    ]
      .filter(Boolean)
      .join(' ');
  const flags = (field('flags') ?? field('Features') ?? '').split(/\s+/).filter(Boolean).sort().join(' ');
  return { cpu: model || 'unknown', flags };
}

export function hostIdentity(options: HostIdentityOptions = {}): HostIdentity {
  const platform = options.platform ?? process.platform;
  const os = `${platform} ${options.osRelease ?? release()}`;
  if (platform === 'darwin') {
    const sysctl = options.sysctl ?? readSysctl;
    // Apple Silicon has no feature string; hw.optional lists its ARM features (FEAT_*) one per line.
    const cpu = sysctl('machdep.cpu.brand_string') ?? 'unknown';
    const flags = sysctl('machdep.cpu.features') ?? sysctl('hw.optional') ?? '';
    return { cpu, cpuFlags: hash16(flags), os };
  }
  const text = (
    options.readCpuinfo ??
    (() => {
      try {
        return readFileSync('/proc/cpuinfo', 'utf8');
      } catch {
        return undefined;
      }
    })
  )();
  const { cpu, flags } = parseCpuinfo(text ?? '');
  return { cpu, cpuFlags: hash16(flags), os };
}

/**
 * A firmware file's identity for a snapshot key: its resolved path, size and modification time (a
 * package upgrade changes them). Its ROM is part of the RAM a snapshot carries, and a size change
 * fails the resume ("Length mismatch"). Not a digest: hashing 64 MiB of AAVMF at every start costs
 * more than the resume itself.
 */
export function firmwareIdentity(path: string): string {
  try {
    const real = realpathSync(path);
    const st = statSync(real);
    return `${real}:${st.size}:${Math.round(st.mtimeMs)}`;
  } catch {
    return `${path}:missing`;
  }
}
