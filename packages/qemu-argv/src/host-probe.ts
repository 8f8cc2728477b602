import { access, constants } from 'node:fs/promises';
import { qemuBinary } from './argv.js';
import { findArm64Firmware } from './firmware.js';
import { compareQemuVersions, parseQemuVersion, type QemuVersion, supportsMappedRam } from './qemu-version.js';
import { QemuArgvError } from './errors.js';
import { type Accel, type Arch, isProcessError, type RunProcess, runProcess } from '@stack/internal';
import { locateBinary, type ProbeOutputs, readProbeEntry, writeDeviceHelp, writeProbeCache } from './probe-cache.js';

export interface HostProbe {
  binary: string;
  version: QemuVersion;
  mappedRam: boolean;
  /**
   * Template snapshots: guest RAM in a file (`memory-backend-file`, listed by `-object help`; Windows
   * builds lack it) saved with `x-ignore-shared` (QEMU 4.0) as the machine's `memory-backend` (5.0).
   */
  templateRam: boolean;
  /** Accelerators this QEMU build lists (`-accel help`). */
  accelerators: Array<Accel>;
  /** Why KVM cannot even be tried, when it is listed; undefined when /dev/kvm is usable. */
  kvmUnavailable: string | undefined;
  firmware: string | undefined;
}

/** Where {@link probeHost} remembers what a QEMU binary printed. */
export interface ProbeCacheOptions {
  /** The cache file (JSON, one entry per binary). */
  file: string;
  /** The PATH the binary is found on; the probes run the file found there. @default process.env.PATH */
  path?: string;
}

/**
 * Finds QEMU for `arch` and reads what it supports. Throws naming the binary and how to install it.
 * With `cache`, the three runs happen once per binary (see {@link locateBinary}), on the file found; /dev/kvm and the
 * firmware are looked at every time.
 */
export async function probeHost(
  arch: Arch,
  options: {
    /** @default qemu-system-x86_64 or qemu-system-aarch64 */
    binary?: string;
    /** @default runProcess */
    run?: RunProcess;
    /** @default none: every call runs QEMU three times */
    cache?: ProbeCacheOptions;
  } = {},
): Promise<HostProbe> {
  const binary = options.binary ?? qemuBinary(arch);
  const cache = options.cache;
  // Each run costs 30-40 ms of a start (spawning a 30 MB binary, three at once on two cores): every
  // start probes, and the answers only change with the binary.
  const located = cache ? await locateBinary(binary, { path: cache.path }) : undefined;
  const identity = located?.identity;
  const remembered = cache && identity ? (await readProbeEntry(cache.file, identity))?.outputs : undefined;
  const fresh = remembered
    ? undefined
    : await runProbes(arch, binary, located?.file ?? binary, options.run ?? runProcess);
  if (cache && identity && fresh?.complete) await writeProbeCache(cache.file, identity, fresh.outputs).catch(() => {});
  return parseProbe(arch, binary, remembered ?? fresh!.outputs);
}

/** The three runs, at once; `complete` is false when `-object help` failed (its answer is then not kept). */
async function runProbes(
  arch: Arch,
  binary: string,
  file: string,
  run: RunProcess,
): Promise<{ outputs: ProbeOutputs; complete: boolean }> {
  const asked = (args: string[]) => run(file, args).then((r) => r.stdout);
  const [versionRun, accelRun, objectRun] = await Promise.allSettled([
    asked(['--version']),
    asked(['-accel', 'help']),
    asked(['-object', 'help']),
  ]);
  if (versionRun.status === 'rejected') {
    const pkg = arch === 'amd64' ? 'qemu-system-x86' : 'qemu-system-arm';
    throw new QemuArgvError(
      'ARGV_QEMU_NOT_FOUND',
      `${binary} not found or not runnable (${whyNotRun(versionRun.reason)}); install QEMU >= 9 (Debian: apt install ${pkg} qemu-utils, from bookworm-backports on Debian 12; macOS: brew install qemu)`,
    );
  }
  if (accelRun.status === 'rejected') throw accelRun.reason;
  return {
    outputs: {
      version: versionRun.value,
      accelHelp: accelRun.value,
      objectHelp: objectRun.status === 'fulfilled' ? objectRun.value : '',
    },
    complete: objectRun.status === 'fulfilled',
  };
}

async function parseProbe(arch: Arch, binary: string, outputs: ProbeOutputs): Promise<HostProbe> {
  const version = parseQemuVersion(outputs.version);
  const accelerators = (['kvm', 'hvf', 'tcg'] as const).filter((a) =>
    new RegExp(`^${a}$`, 'm').test(outputs.accelHelp),
  );
  let kvmUnavailable: string | undefined;
  if (accelerators.includes('kvm')) {
    kvmUnavailable = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(
      () => undefined,
      (e: NodeJS.ErrnoException) =>
        e.code === 'ENOENT' ? '/dev/kvm does not exist' : `/dev/kvm is not read/writable by this user (${e.code})`,
    );
  }
  return {
    binary,
    version,
    mappedRam: supportsMappedRam(version),
    templateRam:
      compareQemuVersions(version, { major: 5, minor: 0, micro: 0 }) >= 0 &&
      /^\s*memory-backend-file$/m.test(outputs.objectHelp),
    accelerators: [...accelerators],
    kvmUnavailable,
    firmware: arch === 'arm64' ? findArm64Firmware({ binary }) : undefined,
  };
}

/**
 * True when `binary` lists `device` in `-device help` (e.g. virtio-9p-pci: builds without virtfs
 * lack it). With `cache` (the one {@link probeHost} filled for this binary), QEMU is asked once.
 */
export async function qemuHasDevice(
  binary: string,
  device: string,
  options: {
    /** @default runProcess */
    run?: RunProcess;
    /** @default none: QEMU is asked every time */
    cache?: ProbeCacheOptions;
  } = {},
): Promise<boolean> {
  const cache = options.cache;
  const located = cache ? await locateBinary(binary, { path: cache.path }) : undefined;
  const identity = located?.identity;
  let help = cache && identity ? (await readProbeEntry(cache.file, identity))?.deviceHelp : undefined;
  if (help === undefined) {
    try {
      help = (await (options.run ?? runProcess)(located?.file ?? binary, ['-device', 'help'])).stdout;
    } catch {
      return false;
    }
    if (cache && identity) await writeDeviceHelp(cache.file, identity, help).catch(() => {});
  }
  return new RegExp(`name "${device.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`).test(help);
}

/** A start failure's own words ("spawn qemu-system-x86_64 ENOENT"), else the failed run's message. */
const whyNotRun = (e: unknown) =>
  isProcessError(e) && e.code === 'PROCESS_START_FAILED' && e.cause instanceof Error
    ? e.cause.message
    : (e as Error).message;
