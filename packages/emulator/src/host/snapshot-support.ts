import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatQemuVersion, type HostProbe } from '@stack/qemu-argv';
import type { CompatibilityKey } from '@stack/snapshot-cache';
import type { EmulatorConfig } from '../config/resolve-config.js';

export type SnapshotFormat = CompatibilityKey['format'];

/** A snapshot format this QEMU refused here (a capture failed on the host, not the guest). */
interface FormatVerdict {
  /** QEMU binary and version: another QEMU decides again. */
  key: string;
  format: SnapshotFormat;
  reason: string;
  decidedAt: string;
}

const qemuKey = (probe: HostProbe) => `${probe.binary}|${formatQemuVersion(probe.version)}`;

async function load(file: string): Promise<FormatVerdict[]> {
  try {
    const data = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return Array.isArray(data) ? (data as FormatVerdict[]) : [];
  } catch {
    return [];
  }
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
): Promise<{ format: SnapshotFormat } | { format: undefined; reason: string }> {
  const refused = (await load(config.paths.snapshotVerdicts)).filter((v) => v.key === qemuKey(probe));
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
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(all, null, 2)}\n`);
  await rename(tmp, file);
}
