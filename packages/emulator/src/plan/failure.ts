import { qemuCannotRun } from '@stack/qemu-argv';
import { isQgaError } from '@stack/qga-protocol';
import { isQmpError } from '@stack/qmp-protocol';
import { isSnapshotError } from '@stack/snapshot-cache';
import { isEmulatorError } from '../errors.js';
import type { AttemptKind } from './attempt.js';

/**
 * What kind of failure ended an attempt, which decides what follows. A snapshot is quarantined only
 * for what the snapshot itself caused; the host's troubles (a full disk, a tool failing, a port taken
 * between the check and QEMU's bind) never cost a good snapshot.
 */
export type FailureKind =
  /** Ctrl-C, SIGTERM, the caller's signal. */
  | 'interrupted'
  /** KVM/HVF exists but cannot run this guest (QEMU said so, or the guest stayed silent under it). */
  | 'accelerator'
  /** A shared directory could not be plugged or mounted: the user's to fix. */
  | 'share'
  /** The home's file system is full. */
  | 'disk-full'
  /** QEMU cannot save this snapshot format here (remembered). */
  | 'refused-format'
  /** Something slow: maybe a loaded host, maybe a broken snapshot; only a repeat counts. */
  | 'timeout'
  /** The host's fault: a file system error, a tool that failed, a port taken, QEMU not starting. */
  | 'host'
  /** Everything else: on a resume, the snapshot's fault. */
  | 'other';

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);
const HOST_ERRNO = new Set(['EACCES', 'EPERM', 'EIO', 'EMFILE', 'ENFILE', 'EROFS', 'ENOMEM', 'EBUSY']);
/**
 * QEMU's words when a host port or another host resource is not available to it, and the launcher's
 * when QEMU could not be started at all (qemu-launcher.ts: "cannot run <binary>: spawn ... ENOENT").
 */
const HOST_QEMU =
  /Could not set up host forwarding rule|Address already in use|Cannot allocate memory|Permission denied|QEMU exited during start: cannot run /i;
/** A guest paused on a disk I/O error (vm-problem.ts): the host's disk (full, or its file gone), not the snapshot. */
const HOST_RUN_STATE = /QEMU run state io-error/;

/** How a failure names a guest kernel panic (vm/vm-problem.ts), so that {@link guestPanicked} knows one. */
export const GUEST_PANICKED = 'the guest kernel panicked';

function* chain(e: unknown): Generator<unknown> {
  for (let cur: unknown = e, depth = 0; cur !== undefined && depth < 8; cur = (cur as Error).cause, depth++) yield cur;
}

/** Classifies what ended an attempt; `accelerator` when the caller saw the accelerator fail under it. */
export function classifyFailure(e: unknown, seen: { aborted: boolean; acceleratorProblem?: string }): FailureKind {
  if (seen.aborted) return 'interrupted';
  if (seen.acceleratorProblem) return 'accelerator';
  const all = [...chain(e)];
  if (all.some((c) => isEmulatorError(c) && c.code === 'INTERRUPTED')) return 'interrupted';
  if (all.some((c) => isEmulatorError(c) && c.code === 'HOST_SHARE_FAILED')) return 'share';
  if (all.some((c) => DISK_FULL.has((c as NodeJS.ErrnoException)?.code ?? ''))) return 'disk-full';
  if (all.some((c) => isEmulatorError(c) && c.code === 'SNAPSHOT_UNSUPPORTED')) return 'refused-format';
  for (const c of all) {
    if ((isQmpError(c) && c.code === 'QMP_TIMEOUT') || (isQgaError(c) && c.code === 'QGA_TIMEOUT')) return 'timeout';
    if (isEmulatorError(c) && (c.code === 'NOT_HEALTHY' || c.transient)) return 'timeout';
  }
  if (all.some((c) => isSnapshotError(c) && c.code === 'SNAPSHOT_CORRUPT')) return 'other';
  if (all.some((c) => HOST_ERRNO.has((c as NodeJS.ErrnoException)?.code ?? ''))) return 'host';
  if (all.some((c) => isSnapshotError(c) && c.code === 'SNAPSHOT_TOOL_FAILED')) return 'host';
  // Removed or replaced by another command since the lookup (prune, capture): nothing wrong with it.
  if (all.some((c) => isSnapshotError(c) && c.code === 'SNAPSHOT_NOT_FOUND')) return 'host';
  // QEMU's loader failing (a library upgraded under it) says nothing of the snapshot either.
  if (
    all.some(
      (c) => isEmulatorError(c) && c.code === 'QEMU_FAILED' && (HOST_QEMU.test(c.message) || qemuCannotRun(c.message)),
    )
  )
    return 'host';
  if (all.some((c) => isEmulatorError(c) && HOST_RUN_STATE.test(c.message))) return 'host';
  return 'other';
}

/** What to do about the golden snapshot after its resume failed this way. */
export type GoldenVerdict = 'quarantine' | 'count-timeout' | 'keep';

export function goldenVerdict(kind: FailureKind): GoldenVerdict {
  if (kind === 'timeout') return 'count-timeout';
  if (kind === 'other') return 'quarantine';
  return 'keep';
}

/** Failures after which the start tries something else (else it ends with the error). */
export function recoverable(attempt: AttemptKind, kind: FailureKind): boolean {
  if (kind === 'interrupted' || kind === 'share' || kind === 'disk-full' || kind === 'accelerator') return false;
  // A session resume, a golden resume and a capture have a fallback; a cold boot has none.
  return attempt === 'resume-session' || attempt === 'resume-golden' || attempt === 'capture';
}

/** The attempt ended because its guest kernel panicked (the agent could never answer). */
export function guestPanicked(e: unknown): boolean {
  return [...chain(e)].some(
    (c) => isEmulatorError(c) && c.code === 'GUEST_FAILED' && c.message.includes(GUEST_PANICKED),
  );
}
