import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { promisify } from 'node:util';
import { qemuBinary } from './argv.js';
import { findArm64Firmware } from './firmware.js';
import { parseQemuVersion, type QemuVersion, supportsMappedRam } from './qemu-version.js';
import { QemuArgvError } from './errors.js';
import type { Accel, Arch } from '@stack/internal';

const run = promisify(execFile);

export interface HostProbe {
  binary: string;
  version: QemuVersion;
  mappedRam: boolean;
  /** Accelerators this QEMU build lists (`-accel help`). */
  accelerators: Array<Accel>;
  /** Why KVM cannot even be tried, when it is listed; undefined when /dev/kvm is usable. */
  kvmUnavailable: string | undefined;
  firmware: string | undefined;
}

/** Finds QEMU for `arch` and reads what it supports. Throws naming the binary and how to install it. */
export async function probeHost(arch: Arch, options: { binary?: string } = {}): Promise<HostProbe> {
  const binary = options.binary ?? qemuBinary(arch);
  let versionText: string;
  try {
    versionText = (await run(binary, ['--version'])).stdout;
  } catch (e) {
    const pkg = arch === 'amd64' ? 'qemu-system-x86' : 'qemu-system-arm';
    throw new QemuArgvError(
      'ARGV_QEMU_NOT_FOUND',
      `${binary} not found or not runnable (${(e as Error).message}); install QEMU >= 9 (Debian: apt install ${pkg} qemu-utils, from bookworm-backports on Debian 12; macOS: brew install qemu)`,
    );
  }
  const version = parseQemuVersion(versionText);
  const help = (await run(binary, ['-accel', 'help'])).stdout;
  const accelerators = (['kvm', 'hvf', 'tcg'] as const).filter((a) => new RegExp(`^${a}$`, 'm').test(help));
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
    accelerators: [...accelerators],
    kvmUnavailable,
    firmware: arch === 'arm64' ? findArm64Firmware({ binary }) : undefined,
  };
}

/** True when `binary` lists `device` in `-device help` (e.g. virtio-9p-pci: builds without virtfs lack it). */
export async function qemuHasDevice(binary: string, device: string): Promise<boolean> {
  try {
    const { stdout } = await run(binary, ['-device', 'help']);
    return new RegExp(`name "${device.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`).test(stdout);
  } catch {
    return false;
  }
}
