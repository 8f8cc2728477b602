import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { dirname } from 'node:path';
import type { HostProbe } from './host-probe.js';
import { formatQemuVersion } from './qemu-version.js';
import { QemuArgvError } from './errors.js';
import type { Accel, Arch } from '@stack/internal';

export type { Accel } from '@stack/internal';

/**
 * Messages QEMU prints when a hardware accelerator exists but cannot run a stock Linux guest:
 * - software-nested KVM (kvm_pvm): `-cpu host` fails at start with "failed to set MSR 0x10a", and once
 *   past that the guest stops with "KVM internal error. Suberror: 1 ... emulation failure";
 * - arm64 KVM: "kvm run failed" (e.g. a host kernel without the guest's page size);
 * - macOS HVF: "HV_DENIED" (the binary lacks the hypervisor entitlement), "HV_UNSUPPORTED" (a VM, or
 *   an old Mac), "Could not access HVF", errors from hv_vm_create.
 */
const UNUSABLE = [
  /KVM internal error/i,
  /emulation failure/i,
  /failed to set MSR/i,
  /kvm_init_vcpu failed/i,
  /Could not access KVM kernel module/i,
  /kvm run failed/i,
  /HV_DENIED/,
  /HV_UNSUPPORTED/,
  /HV_ERROR|hv_vm_create/i,
  /Could not access HVF/i,
  /Error: HV_/,
];

/** Returns a one-line reason when QEMU's output shows the accelerator cannot run the guest. */
export function accelFailureReason(qemuOutput: string): string | undefined {
  for (const re of UNUSABLE) {
    const line = qemuOutput.split('\n').find((l) => re.test(l));
    if (line) return line.trim().slice(0, 200);
  }
  return undefined;
}

/** A host's remembered verdict: decided once, keyed by what would change it. */
export interface AccelVerdict {
  key: string;
  accel: Accel;
  usable: boolean;
  reason?: string;
  decidedAt: string;
}

/** Kernel release, QEMU version and the accelerator device: a change to any of them re-decides. */
export async function verdictKey(probe: HostProbe, accel: Accel): Promise<string> {
  let device = 'none';
  if (accel === 'kvm') {
    const st = await stat('/dev/kvm').catch(() => undefined);
    const modules = await readFile('/proc/modules', 'utf8').catch(() => '');
    const kvmModules = modules
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter((m) => m.startsWith('kvm'))
      .sort()
      .join('+');
    device = st ? `${st.rdev}:${kvmModules}` : 'missing';
  }
  return `${process.platform}|${release()}|qemu ${formatQemuVersion(probe.version)}|${accel}|${device}`;
}

export interface AccelChoice {
  accel: Accel;
  /** One line saying why, e.g. why KVM was not used. */
  reason: string;
}

/**
 * Picks the accelerator: an override (EMULATOR_ACCEL) wins; otherwise the host's hardware accelerator
 * unless it is missing, unusable or remembered as unable to run the guest; otherwise TCG.
 */
export function chooseAccelerator(
  probe: HostProbe,
  options: {
    override?: Accel;
    hostArch: Arch;
    guestArch: Arch;
    verdicts: AccelVerdict[];
    keys: Partial<Record<Accel, string>>;
  },
): AccelChoice {
  if (options.override) {
    if (!probe.accelerators.includes(options.override))
      throw new QemuArgvError(
        'ARGV_ACCEL_UNSUPPORTED',
        `EMULATOR_ACCEL=${options.override}, but ${probe.binary} does not support it (it lists: ${probe.accelerators.join(', ')})`,
      );
    return { accel: options.override, reason: `EMULATOR_ACCEL=${options.override}` };
  }
  if (options.hostArch !== options.guestArch)
    return { accel: 'tcg', reason: `guest is ${options.guestArch} on a ${options.hostArch} host` };
  const hw: Accel | undefined = probe.accelerators.includes('kvm')
    ? 'kvm'
    : probe.accelerators.includes('hvf')
      ? 'hvf'
      : undefined;
  if (!hw) return { accel: 'tcg', reason: `${probe.binary} offers no hardware accelerator` };
  if (hw === 'kvm' && probe.kvmUnavailable) return { accel: 'tcg', reason: probe.kvmUnavailable };
  const known = options.verdicts.find((v) => v.key === options.keys[hw] && v.accel === hw);
  if (known && !known.usable)
    return { accel: 'tcg', reason: `${hw} cannot run the guest on this host: ${known.reason ?? 'unknown'}` };
  return {
    accel: hw,
    reason: known ? `${hw} verified on this host` : `${hw} available (not yet verified with a guest)`,
  };
}

/** Reads remembered verdicts; a missing or unreadable file means none. */
export async function loadVerdicts(file: string): Promise<AccelVerdict[]> {
  try {
    const data = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return Array.isArray(data) ? (data as AccelVerdict[]) : [];
  } catch {
    return [];
  }
}

/** Remembers a verdict (replacing one with the same key), written to a temp file and renamed. */
export async function saveVerdict(file: string, verdict: AccelVerdict): Promise<void> {
  const all = (await loadVerdicts(file)).filter((v) => !(v.key === verdict.key && v.accel === verdict.accel));
  all.push(verdict);
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(all, null, 2)}\n`);
  await rename(tmp, file);
}
