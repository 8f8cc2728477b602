import { existsSync, mkdirSync } from 'node:fs';
import { EmulatorError } from '../errors.js';
import { missingShares, SHARE_SLOTS, type ShareRequest } from '../host/wide-shares.js';

/**
 * Which slot each directory gets when a saved session resumes with `wanted` as well: those it had stay
 * in their slots (the 9p devices are part of the saved device state); a directory that is gone is an
 * empty stand-in, and a stand-in's slot is the first a new directory takes (its fsdev, the host path,
 * is host-side only and the guest had it unmounted before the save), then the slots after. Pure:
 * throws HOST_SHARE_FAILED, naming what did not fit, when no slot is free.
 */
export function chooseShareSlots(
  plugged: readonly string[],
  wanted: readonly string[],
  emptyShare: string,
  exists: (dir: string) => boolean = existsSync,
): string[] {
  const slots = plugged.map((d) => (d !== emptyShare && exists(d) ? d : emptyShare));
  const left: string[] = [];
  for (const d of wanted) {
    if (slots.includes(d)) continue;
    const free = slots.indexOf(emptyShare);
    if (free >= 0) slots[free] = d;
    else if (slots.length < SHARE_SLOTS) slots.push(d);
    else left.push(d);
  }
  if (left.length > 0) {
    throw new EmulatorError(
      'HOST_SHARE_FAILED',
      `no free share slot for ${left.join(', ')}: the saved session already shares ${plugged.join(', ')} (a VM has ${SHARE_SLOTS} share slots, kept until its session ends)`,
      {
        hint: 'share a parent directory that holds them, or free the slots: `stack-emulator stop` then `start --no-snapshot` (a cold boot of the same session), or `stack-emulator reset`',
      },
    );
  }
  return slots;
}

/**
 * The slots of a saved session resumed with this start's shares: {@link chooseShareSlots} for those
 * no share it had serves (`missingShares`, the same test a running VM's start makes), with the empty
 * stand-in directory made when a slot needs it.
 */
export function sharesAfter(
  plugged: readonly string[],
  pluggedReadonly: readonly string[],
  wanted: readonly ShareRequest[],
  emptyShare: string,
  exists: (dir: string) => boolean = existsSync,
): string[] {
  const live = plugged.filter((d) => d !== emptyShare && exists(d));
  const add = missingShares(wanted, live, pluggedReadonly).map((w) => w.dir);
  const slots = chooseShareSlots(plugged, add, emptyShare, exists);
  if (slots.includes(emptyShare)) mkdirSync(emptyShare, { recursive: true, mode: 0o700 });
  return slots;
}

/**
 * The shares the guest mounts read-only after a resume: those this start asks read-only, and those
 * the saved session had read-only that this start does not ask read-write (a carried-over share keeps
 * its mode; the `--config-file` project is never in `readonlyNow`).
 */
export function readonlyAfter(
  savedReadonly: readonly string[],
  readonlyNow: readonly string[],
  readWriteNow: readonly string[],
): string[] {
  return [...new Set([...readonlyNow, ...savedReadonly.filter((d) => !readWriteNow.includes(d))])];
}

/**
 * The directories this start shares, before any saved slots: the `--config-file` project first
 * (always read-write: the backend writes its config file), then the `--share` ones, parents first; a
 * request a kept one already serves is dropped (a subdirectory of a read-write share). `readonly`:
 * see {@link readonlyAfter}.
 */
export function startShares(
  shareRoot: string | undefined,
  extra: readonly ShareRequest[],
  savedReadonly: readonly string[],
): { shares: string[]; readonly: string[] } {
  const want: ShareRequest[] = [
    ...(shareRoot ? [{ dir: shareRoot, readonly: false }] : []),
    ...[...extra].sort((a, b) => a.dir.length - b.dir.length),
  ];
  const kept: ShareRequest[] = [];
  for (const w of want) {
    const dirs = kept.map((k) => k.dir);
    const ro = kept.filter((k) => k.readonly).map((k) => k.dir);
    if (missingShares([w], dirs, ro).length > 0) kept.push(w);
  }
  const dirs = (ro: boolean) => kept.filter((k) => k.readonly === ro).map((k) => k.dir);
  // A directory given both ways (the project also as --share-readonly) is read-write: kept once.
  const readWrite = dirs(false);
  const readonly = dirs(true).filter((d) => !readWrite.includes(d));
  return {
    shares: [...new Set(kept.map((k) => k.dir))],
    readonly: readonlyAfter(savedReadonly, readonly, readWrite),
  };
}
