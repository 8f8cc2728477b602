import { readFile, stat } from 'node:fs/promises';
import { release } from 'node:os';
import type { HostProbe } from './host-probe.js';
import { formatQemuVersion } from './qemu-version.js';
import { QemuArgvError } from './errors.js';
import { type Accel, type Arch, readJsonFile, writeFileAtomic } from '@stack/internal';
import { z } from 'zod';

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
/** Whether a hardware accelerator ran a guest on this host, under the key of what it depends on. */
const accelVerdictSchema = z
  .object({
    key: z.string(),
    accel: z.enum(['kvm', 'hvf', 'tcg']),
    usable: z.boolean(),
    reason: z.string().optional(),
    decidedAt: z.string(),
  })
  .loose();

export type AccelVerdict = z.infer<typeof accelVerdictSchema>;

/** The verdicts file: every verdict remembered on this host. */
const accelVerdictsSchema = z.array(accelVerdictSchema);

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

/**
 * Reads remembered verdicts; a missing file means none. The file is a cache of decisions (an
 * accelerator is verified again, a few seconds), so one that is not valid or cannot be read means
 * none too, and is replaced by the next verdict; `warn` is told, with the file. Before, a wrong-shaped
 * entry was used as-is (an `accel` of another name, `usable` as a string).
 */
export async function loadVerdicts(
  file: string,
  options: { warn?: (text: string) => void } = {},
): Promise<AccelVerdict[]> {
  const r = await readJsonFile(file, accelVerdictsSchema).catch((e: Error) => ({
    kind: 'invalid' as const,
    reason: `cannot be read: ${e.message}`,
  }));
  if (r.kind === 'invalid')
    options.warn?.(
      `${file} is not a valid accelerator verdicts file (${r.reason}): the accelerator is verified again, nothing to do`,
    );
  return r.kind === 'ok' ? r.value : [];
}

/** Remembers a verdict (replacing one with the same key): temp file, fsync, rename. */
export async function saveVerdict(file: string, verdict: AccelVerdict): Promise<void> {
  const all = (await loadVerdicts(file)).filter((v) => !(v.key === verdict.key && v.accel === verdict.accel));
  all.push(verdict);
  await writeFileAtomic(file, `${JSON.stringify(all, null, 2)}\n`);
}
