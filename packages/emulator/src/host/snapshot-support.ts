import { readJsonFile, writeFileAtomic } from '@stack/internal';
import { formatQemuVersion, type HostProbe } from '@stack/qemu-argv';
import { type CompatibilityKey, compatibilityKeySchema } from '@stack/snapshot-cache';
import { z } from 'zod';
import type { EmulatorConfig } from '../config/resolve-config.js';

export type SnapshotFormat = CompatibilityKey['format'];

/** host/snapshot-verdicts.json: the snapshot formats this QEMU refused here (a capture failed on the host, not the guest). */
const formatVerdictsSchema = z.array(
  z
    .object({
      /** QEMU binary and version: another QEMU decides again. */
      key: z.string(),
      format: compatibilityKeySchema.shape.format,
      reason: z.string(),
      decidedAt: z.string(),
    })
    .loose(),
);

type FormatVerdict = z.infer<typeof formatVerdictsSchema>[number];

const qemuKey = (probe: HostProbe) => `${probe.binary}|${formatQemuVersion(probe.version)}`;

/**
 * The refusals remembered. The file is a cache of what a failed capture taught (learnt again at the
 * cost of one more failed capture), so one that is not valid or cannot be read means none, is told
 * to `warn` with its name, and is replaced by the next refusal. Before, a wrong-shaped entry was
 * used as-is.
 */
async function load(file: string, warn?: (text: string) => void): Promise<FormatVerdict[]> {
  const r = await readJsonFile(file, formatVerdictsSchema).catch((e: Error) => ({
    kind: 'invalid' as const,
    reason: `cannot be read: ${e.message}`,
  }));
  if (r.kind === 'invalid')
    warn?.(
      `${file} is not a valid snapshot verdicts file (${r.reason}): every snapshot format is tried again, nothing to do`,
    );
  return r.kind === 'ok' ? r.value : [];
}

/**
 * How a session is saved at stop when it resumed from (or was captured as) `format`. A template's
 * RAM file is shared by every resume and mapped privately, so the session's own pages live in
 * anonymous memory: they are saved whole, in the best RAM format (loaded into anonymous RAM, which
 * mapped-ram needs: it skips zero pages). See ARCHITECTURE.md, "Sessions and template RAM".
 */
export function sessionSaveFormat(probe: HostProbe, format: SnapshotFormat): SnapshotFormat {
  if (format !== 'template-ram') return format;
  return probe.mappedRam ? 'mapped-ram' : 'stream';
}

/**
 * The fastest snapshot format this QEMU offers (template RAM mapped from a file wherever QEMU has
 * file-backed memory, mapped-ram from 9.0, the plain stream on any QEMU), or the one
 * EMULATOR_SNAPSHOT_FORMAT names,
 * that has not failed here before; undefined, with the reasons, when none is left. A capture costs a
 * whole cold boot, so a QEMU that cannot save snapshots is asked once, not at every start.
 */
export async function chooseSnapshotFormat(
  config: EmulatorConfig,
  probe: HostProbe,
  options: {
    /** Told when the verdicts file is not valid (it is read as none). @default nothing */
    warn?: (text: string) => void;
  } = {},
): Promise<{ format: SnapshotFormat } | { format: undefined; reason: string }> {
  const refused = (await load(config.paths.snapshotVerdicts, options.warn)).filter((v) => v.key === qemuKey(probe));
  const offered: SnapshotFormat[] = [
    ...(probe.templateRam ? (['template-ram'] as const) : []),
    ...(probe.mappedRam ? (['mapped-ram'] as const) : []),
    'stream',
  ];
  const wanted = config.snapshotFormat;
  if (wanted !== 'auto' && !offered.includes(wanted))
    return {
      format: undefined,
      reason: `EMULATOR_SNAPSHOT_FORMAT=${wanted}, which QEMU ${formatQemuVersion(probe.version)} here cannot save (it offers ${offered.join(', ')}); unset it to let the emulator choose`,
    };
  const candidates = wanted === 'auto' ? offered : [wanted];
  const usable = candidates.find((f) => !refused.some((v) => v.format === f));
  if (usable) return { format: usable };
  return {
    format: undefined,
    reason: `QEMU ${formatQemuVersion(probe.version)} could not save a snapshot here (${refused.map((v) => `${v.format}: ${v.reason}`).join('; ')}); delete ${config.paths.snapshotVerdicts} to try again`,
  };
}

/** Remembers that `format` failed on this QEMU for a reason of the host (a capability it lacks). */
export async function rememberRefusedFormat(
  config: EmulatorConfig,
  probe: HostProbe,
  format: SnapshotFormat,
  reason: string,
): Promise<void> {
  const file = config.paths.snapshotVerdicts;
  const all = (await load(file)).filter((v) => !(v.key === qemuKey(probe) && v.format === format));
  all.push({ key: qemuKey(probe), format, reason: reason.slice(0, 300), decidedAt: new Date().toISOString() });
  await writeFileAtomic(file, `${JSON.stringify(all, null, 2)}\n`);
}
