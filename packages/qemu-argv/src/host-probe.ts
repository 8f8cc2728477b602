import { execFile } from 'node:child_process';
import { access, constants, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { qemuBinary } from './argv.js';
import { parseQemuVersion, type QemuVersion, supportsMappedRam } from './qemu-version.js';

const run = promisify(execFile);

/** aarch64 UEFI firmware locations, in the order the tool we replace tried them (Homebrew, Debian, Fedora). */
export const ARM64_FIRMWARE_CANDIDATES = [
  '/opt/homebrew/share/qemu/edk2-aarch64-code.fd',
  '/usr/share/qemu/edk2-aarch64-code.fd',
  '/usr/share/AAVMF/AAVMF_CODE.fd',
  '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd',
] as const;

export interface HostProbe {
  binary: string;
  version: QemuVersion;
  mappedRam: boolean;
  /** Accelerators this QEMU build lists (`-accel help`). */
  accelerators: Array<'kvm' | 'hvf' | 'tcg'>;
  /** Why KVM cannot even be tried, when it is listed; undefined when /dev/kvm is usable. */
  kvmUnavailable: string | undefined;
  firmware: string | undefined;
}

export async function findFirmware(candidates: readonly string[] = ARM64_FIRMWARE_CANDIDATES): Promise<string | undefined> {
  for (const c of candidates) {
    if (await stat(c).then((s) => s.isFile(), () => false)) return c;
  }
  return undefined;
}

/** Finds QEMU for `arch` and reads what it supports. Throws naming the binary and how to install it. */
export async function probeHost(arch: 'amd64' | 'arm64', options: { binary?: string } = {}): Promise<HostProbe> {
  const binary = options.binary ?? qemuBinary(arch);
  let versionText: string;
  try {
    versionText = (await run(binary, ['--version'])).stdout;
  } catch (e) {
    const pkg = arch === 'amd64' ? 'qemu-system-x86' : 'qemu-system-arm';
    throw new Error(`${binary} not found or not runnable (${(e as Error).message}); install QEMU >= 9 (Debian: apt install ${pkg} qemu-utils, from bookworm-backports on Debian 12; macOS: brew install qemu)`);
  }
  const version = parseQemuVersion(versionText);
  const help = (await run(binary, ['-accel', 'help'])).stdout;
  const accelerators = (['kvm', 'hvf', 'tcg'] as const).filter((a) => new RegExp(`^${a}$`, 'm').test(help));
  let kvmUnavailable: string | undefined;
  if (accelerators.includes('kvm')) {
    kvmUnavailable = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? '/dev/kvm does not exist' : `/dev/kvm is not read/writable by this user (${e.code})`),
    );
  }
  return {
    binary,
    version,
    mappedRam: supportsMappedRam(version),
    accelerators: [...accelerators],
    kvmUnavailable,
    firmware: arch === 'arm64' ? await findFirmware() : undefined,
  };
}
