import { existsSync } from 'node:fs';
import {
  findArm64Firmware,
  loadVerdicts,
  probeHost,
  saveVerdict,
  verdictKey,
  verifyAccelerator,
} from '@stack/qemu-argv';
import { UEFI_FIRMWARE } from './disk-image.js';
import { BuildError } from './errors.js';
import type { Accel, Arch } from '@stack/internal';

/** The UEFI firmware the provisioning boot starts the image with (the image has no boot files yet). */
export function buildFirmware(arch: Arch): string {
  const f =
    arch === 'arm64'
      ? findArm64Firmware({ binary: 'qemu-system-aarch64' })
      : UEFI_FIRMWARE.amd64.find((p) => existsSync(p));
  if (!f)
    throw new BuildError(
      'IMAGE_BUILD_FAILED',
      `no UEFI firmware for ${arch}; install ${arch === 'amd64' ? 'ovmf' : 'qemu-efi-aarch64'} (looked in ${UEFI_FIRMWARE[arch].join(', ')})`,
    );
  return f;
}

/**
 * KVM/HVF when they can run a guest here, else TCG; with the reason. With `kernel` (the base image's),
 * the check boots it (see qemu-argv verifyAccelerator: some nested hosts hang silently under KVM). The
 * verdict is remembered in `verdicts` (keyed by host kernel, QEMU and device), so only the first build
 * on a host pays for the check.
 */
export async function chooseBuildAccelerator(
  arch: Arch,
  options: { kernel?: string; verdicts?: string } = {},
): Promise<{ accel: Accel; reason: string }> {
  const probe = await probeHost(arch);
  const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  for (const hw of ['kvm', 'hvf'] as const) {
    if (hostArch !== arch || !probe.accelerators.includes(hw) || (hw === 'kvm' && probe.kvmUnavailable)) continue;
    const key = await verdictKey(probe, hw);
    const known = options.verdicts
      ? (await loadVerdicts(options.verdicts)).find((v) => v.key === key && v.accel === hw)
      : undefined;
    if (known)
      return known.usable
        ? { accel: hw, reason: `${hw} verified on this host` }
        : { accel: 'tcg', reason: `${hw} cannot run a guest here: ${known.reason ?? 'unknown'}` };
    const check = await verifyAccelerator(probe, hw, { arch, kernel: options.kernel });
    // A QEMU that could not run says nothing of the accelerator (see AccelCheck.inconclusive).
    if (options.verdicts && options.kernel && !check.inconclusive)
      await saveVerdict(options.verdicts, {
        key,
        accel: hw,
        usable: check.usable,
        reason: check.reason,
        decidedAt: new Date().toISOString(),
      });
    if (check.usable) return { accel: hw, reason: check.reason };
    if (check.inconclusive) return { accel: 'tcg', reason: `could not check ${hw} (${check.reason})` };
    return { accel: 'tcg', reason: `${hw} cannot run a guest here: ${check.reason}` };
  }
  return { accel: 'tcg', reason: 'no usable hardware accelerator' };
}
