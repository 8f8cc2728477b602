import { isQgaError } from '@stack/qga-protocol';
import { isQmpError } from '@stack/qmp-protocol';
import { SnapshotCache, type SnapshotEntry } from '@stack/snapshot-cache';
import { EmulatorError } from '../errors.js';
import type { BootContext } from './boot-context.js';
import { secretsFor } from './cold-boot.js';
import { launchGuest } from '../vm/launch.js';
import type { Session } from '../session/session.js';
import { type SecretsState, settleGuest } from '../guest/settle.js';
import type { VmProcess } from '../vm/vm-process.js';

/**
 * Timeouts (agent, health, QMP or agent calls) can come from a host under load rather than from a
 * broken snapshot; corrupt files and errors QEMU or the guest report cannot.
 */
export function isTimeout(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 6; cur = cur.cause, depth++) {
    if ((isQmpError(cur) && cur.code === 'QMP_TIMEOUT') || (isQgaError(cur) && cur.code === 'QGA_TIMEOUT')) return true;
    if (cur instanceof EmulatorError && (cur.code === 'NOT_HEALTHY' || cur.transient)) return true;
  }
  return false;
}

export interface BootedVm {
  vm: VmProcess;
  secrets: SecretsState;
}

/** QEMU is killed, and the error becomes SNAPSHOT_FAILED (the caller falls back); a share problem stays HOST_SHARE_FAILED. */
function resumeFailure(ctx: BootContext, e: unknown, what: string): EmulatorError {
  if (ctx.signal?.aborted) return new EmulatorError('INTERRUPTED', `interrupted during ${what}`, { cause: e });
  // The share is the host's business, not the snapshot's: never a reason to quarantine it.
  if (e instanceof EmulatorError && e.code === 'HOST_SHARE_FAILED') return e;
  return new EmulatorError('SNAPSHOT_FAILED', (e as Error).message, { cause: e, transient: isTimeout(e) });
}

/**
 * Resumes a golden snapshot: its verified state file, on `disk` (a new session's disk, already an
 * overlay on the frozen disk; or with `fresh`, made one now), and then the shares, fresh secrets (its
 * guest holds the placeholders) and the health probes (never probed before `cont`: a SYN sent to a
 * paused guest is lost and costs a 1 s retransmit).
 */
export async function resumeSnapshot(
  ctx: BootContext,
  entry: SnapshotEntry,
  target: {
    disk: string;
    fresh: boolean;
    /**
     * A template's RAM for this VM alone (a session's): makes the file, returns its path; the VM maps
     * it shared. @default the template itself, mapped privately
     */
    ownMemory?: () => Promise<string>;
  },
): Promise<BootedVm> {
  const p = ctx.config.paths;
  let vm: VmProcess | undefined;
  try {
    const raw = await new SnapshotCache(p.snapshots).prepareResume(entry, { signal: ctx.signal });
    if (!entry.diskPath) throw new EmulatorError('SNAPSHOT_FAILED', `snapshot ${entry.id} has no frozen disk`);
    const template = entry.meta.key.format === 'template-ram';
    if (template && !entry.ramPath)
      throw new EmulatorError('SNAPSHOT_FAILED', `template snapshot ${entry.id} has no RAM file`);
    const memoryFile = !template
      ? undefined
      : target.ownMemory
        ? { path: await target.ownMemory(), mode: 'shared' as const }
        : { path: entry.ramPath!, mode: 'private' as const };
    const launched = await launchGuest(ctx, {
      layout: 'snapshot',
      disk: target.disk,
      ...(target.fresh ? { newOverlayOn: entry.diskPath } : {}),
      configIso: p.configIso,
      configValues: entry.meta.key.configDisk,
      incoming: { path: raw, format: entry.meta.key.format },
      // Either way pages load on first touch; mapped privately, the template is never written.
      ...(memoryFile ? { memoryFile } : {}),
      shares: ctx.shares,
      agentTimeoutMs: 30_000,
    });
    vm = launched.vm;
    const secrets = await settleGuest(ctx, launched, {
      syncClock: true,
      secrets: ctx.config.rotation ? 'rotate' : 'placeholders',
      rotationTimeoutMs: 60_000,
      healthTimeoutMs: ctx.config.snapshotReadyTimeoutMs,
    });
    return { vm, secrets };
  } catch (e) {
    await vm?.kill();
    throw resumeFailure(ctx, e, 'resume');
  }
}

/**
 * Resumes the saved session: its RAM state is taken (consumed: a VM that dies from here on leaves a
 * session the next start cold-boots) and loaded against the session's disk, with the share devices it
 * had. The session keeps its secrets (the key handed out before stays valid) unless `--rotate`.
 */
export async function resumeSession(ctx: BootContext, s: Session): Promise<BootedVm> {
  const p = ctx.config.paths;
  const ram = s.meta.ram;
  if (!ram) throw new EmulatorError('SNAPSHOT_FAILED', 'the session has no saved RAM state');
  let vm: VmProcess | undefined;
  try {
    const path = await s.store.takeRam();
    const launched = await launchGuest(ctx, {
      layout: 'snapshot',
      disk: s.store.disk,
      configIso: p.configIso,
      configValues: ram.key.configDisk,
      incoming: { path, format: ram.key.format },
      // The session's own RAM file, as its VM left it when it saved the device state.
      ...(ram.memory ? { memoryFile: { path: s.store.memoryPath, mode: 'shared' as const } } : {}),
      shares: ctx.shares,
      pluggedShares: ram.plugged.length,
      agentTimeoutMs: 30_000,
    });
    vm = launched.vm;
    const secrets = await secretsFor(ctx, launched.qga, s.meta.clientKey);
    const state = await settleGuest(ctx, launched, {
      syncClock: true,
      ...secrets,
      rotationTimeoutMs: 60_000,
      healthTimeoutMs: ctx.config.snapshotReadyTimeoutMs,
    });
    return { vm, secrets: state };
  } catch (e) {
    await vm?.kill();
    throw resumeFailure(ctx, e, 'the session resume');
  } finally {
    // Resumed or not, this RAM state is spent: the disk has moved on.
    await s.store.discardRam().catch(() => {});
  }
}
