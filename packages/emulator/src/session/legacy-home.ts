import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { shellQuote } from '@stack/qemu-argv';
import { backingNameOf } from '@stack/snapshot-cache';
import { type IdentityOptions, processIdentity, readJsonFile } from '@stack/internal';
import { z } from 'zod';
import type { EmulatorConfig } from '../config/resolve-config.js';
import type { Op } from '../context/op.js';
import { endQemu, type EndedHow } from '../vm/end-qemu.js';

/**
 * What the original stack-emulator (the shell tool we replace) leaves in a home: `run/vm/` with its
 * QEMU's pid file and monitor socket, a cold-boot overlay with its fingerprint, and its snapshot
 * files under images/ (stack-emulator-inventory.md, 1.14). Users upgrade in place: none of it is
 * deleted under a running QEMU, the overlay's data is adopted, and the snapshot files are reported.
 */
export interface OriginalInstance {
  pid: number;
  startTime: string | undefined;
  monitor: string;
}

const pidFile = (config: EmulatorConfig) => join(config.paths.vm, 'qemu.pid');

/**
 * The original's QEMU when one runs on this home: the pid in run/vm/qemu.pid, alive, and proven by
 * its command line (QEMU, naming this home's run/vm directory). A stale pid file is not an instance.
 */
export function originalInstance(config: EmulatorConfig, options: IdentityOptions = {}): OriginalInstance | undefined {
  const file = pidFile(config);
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
  const id = processIdentity(pid, options);
  if (!id?.alive || !id.command?.includes('qemu-system') || !id.command.includes(`${config.paths.vm}/`))
    return undefined;
  return { pid, startTime: id.startTime, monitor: join(config.paths.vm, 'monitor.sock') };
}

/**
 * Stops the original's QEMU as the original meant to (its own stop sent the power-down on a second
 * QMP connection, without capabilities, and so most likely never): ACPI power-down on one negotiated
 * session, `quit` after `timeoutMs`, then signals, only while the process is still the one proven.
 * Its pid file and sockets are removed once it is gone; its disk and key file stay.
 */
export async function stopOriginal(
  op: Op,
  inst: OriginalInstance,
  options: { timeoutMs: number; onPhase?: (t: string) => void },
): Promise<EndedHow> {
  const control = await op.seams.vms.attach(inst.monitor, { trace: op.trace, timeout: 3000 });
  let how: EndedHow;
  try {
    how = await endQemu(
      op,
      { pid: inst.pid, startTime: inst.startTime, proof: ['qemu-system', `${op.config.paths.vm}/`], control },
      {
        timeoutMs: options.timeoutMs,
        quick: false,
        onPhase: options.onPhase,
        who: `the original stack-emulator's guest (pid ${inst.pid})`,
      },
    );
  } finally {
    await control?.close().catch(() => {});
  }
  await Promise.all(
    ['qemu.pid', 'monitor.sock', 'qga.sock'].map((f) => rm(join(op.config.paths.vm, f), { force: true })),
  );
  return how;
}

/**
 * What our versions before sessions wrote beside their overlay (run/vm/disk.json): the mode it ran in
 * and the image it is backed by. Loose: only these two fields are read, whatever else it held.
 */
const legacyDiskMetaSchema = z.object({ mode: z.string(), imageDigest: z.string() }).loose();

/**
 * A disk with data that an earlier tool left in run/vm for `image`: the original's overlay (its
 * `base-image.fingerprint` names the image's size and mtime, and the overlay is backed by it) or a
 * cold-boot overlay of our versions before sessions (`disk.json`). Ephemeral overlays never count.
 * A disk.json that is not valid cannot say which image its disk belongs to, so the disk is not
 * adopted (booting it on another image would garble it); it is left in place, and `warn` says so.
 */
export async function earlierDisk(
  config: EmulatorConfig,
  image: { path: string; digest: string },
  options: { warn?: (text: string) => void } = {},
): Promise<{ disk: string; from: string } | undefined> {
  const p = config.paths;
  if (!existsSync(p.overlay)) return undefined;
  const backing = await backingNameOf(p.overlay).catch(() => undefined);
  if (backing !== resolve(image.path)) return undefined;
  const meta = await readJsonFile(p.overlayMeta, legacyDiskMetaSchema).catch((e: Error) => ({
    kind: 'invalid' as const,
    reason: `cannot be read: ${e.message}`,
  }));
  if (meta.kind === 'ok')
    return meta.value.mode === 'cold' && meta.value.imageDigest === image.digest
      ? { disk: p.overlay, from: 'an earlier stack-emulator version' }
      : undefined;
  // missing: not ours; the original's?
  const original = originalDisk(config, image);
  if (!original && meta.kind === 'invalid')
    options.warn?.(
      `${p.overlayMeta} is not valid (${meta.reason}): the disk ${p.overlay} an earlier stack-emulator version left is not used, as its image cannot be told; it is kept there untouched (move it away or delete it once its data is not needed)`,
    );
  return original;
}

/** The original's overlay, when its fingerprint names `image` as it is now. */
function originalDisk(config: EmulatorConfig, image: { path: string }): { disk: string; from: string } | undefined {
  const p = config.paths;
  try {
    // `<size>:<mtime seconds>|<snapshot fingerprint or no-savevm>`, no newline (stat -c "%s:%Y").
    const fp = readFileSync(join(p.vm, 'base-image.fingerprint'), 'utf8').split('|')[0];
    const st = statSync(image.path);
    return fp === `${st.size}:${Math.floor(st.mtimeMs / 1000)}`
      ? { disk: p.overlay, from: 'the original stack-emulator' }
      : undefined;
  } catch {
    return undefined;
  }
}

/** After adoption: the earlier tool's markers of the disk that moved into the session. */
export async function forgetEarlierDisk(config: EmulatorConfig): Promise<void> {
  await Promise.all(
    [config.paths.overlayMeta, join(config.paths.vm, 'base-image.fingerprint')].map((f) => rm(f, { force: true })),
  );
}

/** The original's snapshot files under images/ (gigabytes we never read), with their sizes. */
export function originalSnapshotFiles(config: EmulatorConfig): Array<{ path: string; bytes: number }> {
  const names = (() => {
    try {
      return readdirSync(config.paths.images);
    } catch {
      return [] as string[];
    }
  })();
  return names
    .sort()
    .filter((n) => /^stack-emulator-(amd64|arm64)\.savevm\.(zst|raw)(\.tmp|\.capture\.tmp)?$/.test(n))
    .map((n) => {
      const path = join(config.paths.images, n);
      const st = statSync(path);
      return { path, bytes: st.blocks * 512 };
    });
}

/** One line about the original's snapshot files, with the command that removes them; undefined when none. */
export function describeOriginalSnapshots(config: EmulatorConfig): string | undefined {
  const files = originalSnapshotFiles(config);
  if (files.length === 0) return undefined;
  const gb = files.reduce((n, f) => n + f.bytes, 0) / 1e9;
  return `the original stack-emulator's snapshot files take ${gb.toFixed(1)} GB and are not used by this version: rm ${files.map((f) => shellQuote(f.path)).join(' ')}`;
}
