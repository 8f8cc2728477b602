import { accessSync, constants } from 'node:fs';
import { release } from 'node:os';
import { cachedBaseKernel } from '@stack/emulator-image';
import {
  type Accel,
  chooseAccelerator,
  type HostProbe,
  loadVerdicts,
  probeHost,
  type ProbeCacheOptions,
  saveVerdict,
  verdictKey,
  verifyAccelerator,
} from '@stack/qemu-argv';
import type { EmulatorConfig } from '../config/resolve-config.js';
import { EmulatorError } from '../errors.js';
import type { Arch } from '@stack/internal';

export interface HostChoice {
  probe: HostProbe;
  accel: Accel;
  /** Why this accelerator, e.g. why KVM was not used. */
  reason: string;
}

/** Where what QEMU says of itself is remembered, and the PATH it is found in (the spawn's). */
export function qemuProbeCache(config: EmulatorConfig): ProbeCacheOptions {
  return { file: config.paths.qemuProbes, ...(config.env.PATH !== undefined ? { path: config.env.PATH } : {}) };
}

/**
 * Finds QEMU for the guest architecture and what it supports; HOST_UNSUPPORTED with the fix otherwise.
 * What a QEMU binary printed is remembered in the home (`host/qemu-probes.json`) until the binary
 * changes; `doctor` always asks QEMU itself.
 */
export async function probeQemu(config: EmulatorConfig): Promise<HostProbe> {
  let probe: HostProbe;
  try {
    probe = await probeHost(config.arch, { cache: qemuProbeCache(config) });
  } catch (e) {
    throw new EmulatorError('HOST_UNSUPPORTED', (e as Error).message, { cause: e });
  }
  if (config.arch === 'arm64' && !probe.firmware) {
    throw new EmulatorError('HOST_UNSUPPORTED', 'no aarch64 UEFI firmware found', {
      hint: 'Debian/Ubuntu: apt install qemu-efi-aarch64; macOS: brew install qemu',
    });
  }
  return probe;
}

export interface KernelSources {
  /** The running kernel's release (`uname -r`). @default os.release() */
  release?: string;
  /** Whether a file can be read. @default fs.accessSync(R_OK) */
  readable?: (path: string) => boolean;
  /** A base image's kernel the image builder cached. @default emulator-image cachedBaseKernel */
  cached?: (arch: Arch) => string | undefined;
}

const canRead = (path: string) => {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * A kernel to verify a hardware accelerator with: the image's own; else one the host already has, a
 * base image's the image builder cached, or on Linux the running kernel's file when it is readable
 * and of the guest's architecture (Ubuntu keeps it 0600). Without one, only a quick QEMU start is
 * possible, which a KVM that runs nothing passes: a BIOS-booted Stack image then hung for 108 s
 * under this CI host's KVM before QEMU reported an internal error.
 */
export function verificationKernel(
  config: EmulatorConfig,
  imageKernel: string | undefined,
  sources: KernelSources = {},
): string | undefined {
  if (imageKernel) return imageKernel;
  const readable = sources.readable ?? canRead;
  const cached = (sources.cached ?? cachedBaseKernel)(config.arch);
  if (cached && readable(cached)) return cached;
  const hostArch = config.host.arch;
  if (config.host.platform === 'linux' && hostArch === config.arch) {
    const own = `/boot/vmlinuz-${sources.release ?? release()}`;
    if (readable(own)) return own;
  }
  return undefined;
}

/**
 * Picks the accelerator. A hardware accelerator not yet verified on this host is tried once: with
 * `kernel` (the image's own), by booting it (some nested hosts run nothing under KVM, silently);
 * otherwise by a quick start with the CPU model we would use. An unusable one (e.g. software-nested
 * KVM) is remembered, with the reason, and TCG is used.
 */
export async function chooseHostAccelerator(
  config: EmulatorConfig,
  probe: HostProbe,
  options: {
    kernel?: string;
    onVerify?: (accel: Accel) => void;
    /** Told when the verdicts file is not valid (it is rebuilt). @default nothing */
    warn?: (text: string) => void;
    /** Checks an accelerator by running QEMU with it. @default verifyAccelerator */
    verify?: typeof verifyAccelerator;
  } = {},
): Promise<HostChoice> {
  const host = config.host.arch ?? config.arch;
  const verdicts = await loadVerdicts(config.paths.accelVerdicts, { warn: options.warn });
  const keys: Partial<Record<Accel, string>> = {};
  for (const a of probe.accelerators) if (a !== 'tcg') keys[a] = await verdictKey(probe, a);
  let choice: { accel: Accel; reason: string };
  try {
    choice = chooseAccelerator(probe, {
      override: config.accelOverride,
      hostArch: host,
      guestArch: config.arch,
      verdicts,
      keys,
    });
  } catch (e) {
    throw new EmulatorError('CONFIG_INVALID', (e as Error).message, { cause: e });
  }
  const known = verdicts.some((v) => v.accel === choice.accel && v.key === keys[choice.accel]);
  if (choice.accel !== 'tcg' && !known && !config.accelOverride) {
    options.onVerify?.(choice.accel);
    const check = await (options.verify ?? verifyAccelerator)(probe, choice.accel, {
      arch: config.arch,
      kernel: verificationKernel(config, options.kernel),
    });
    // QEMU that could not run at all says nothing of the accelerator: remembered, its "unusable"
    // would keep KVM/HVF off after QEMU is mended. The start goes on under TCG (and QEMU's launch
    // then fails with its own words); the next start checks again.
    if (check.inconclusive)
      return { probe, accel: 'tcg', reason: `could not check ${choice.accel} (${check.reason}); using tcg` };
    await saveVerdict(config.paths.accelVerdicts, {
      key: keys[choice.accel]!,
      accel: choice.accel,
      usable: check.usable,
      reason: check.reason,
      decidedAt: new Date().toISOString(),
    });
    if (!check.usable)
      return {
        probe,
        accel: 'tcg',
        reason: `${choice.accel} cannot run the guest on this host (${check.reason}); using tcg`,
      };
    return { probe, accel: choice.accel, reason: `${choice.accel} verified on this host` };
  }
  return { probe, ...choice };
}

/** Remembers that a hardware accelerator failed with a real guest (seen in QEMU's output at boot). */
export async function rememberUnusable(
  config: EmulatorConfig,
  probe: HostProbe,
  accel: Accel,
  reason: string,
): Promise<void> {
  await saveVerdict(config.paths.accelVerdicts, {
    key: await verdictKey(probe, accel),
    accel,
    usable: false,
    reason,
    decidedAt: new Date().toISOString(),
  });
}
