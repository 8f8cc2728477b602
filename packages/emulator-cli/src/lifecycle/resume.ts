import { SnapshotCache, type SnapshotEntry } from '@stack/snapshot-cache';
import { EmulatorError } from '../errors.js';
import type { BootContext } from './boot-context.js';
import { launchGuest } from './launch.js';
import { type SecretsState, settleGuest } from './settle.js';
import type { VmProcess } from './vm-process.js';

/**
 * Timeouts (agent, health, QMP or agent calls) can come from a host under load rather than from a
 * broken snapshot; corrupt files and errors QEMU or the guest report cannot.
 */
export function isTimeout(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 6; cur = cur.cause, depth++) {
    if (cur.name.endsWith('TimeoutError')) return true;
    if (cur instanceof EmulatorError && (cur.code === 'NOT_HEALTHY' || cur.transient)) return true;
  }
  return false;
}

export interface BootedVm {
  vm: VmProcess;
  secrets: SecretsState;
}

/**
 * Resumes a golden snapshot: its verified state file, a fresh overlay on its frozen disk, and then
 * the shares, fresh secrets (its guest holds the placeholders) and the health probes (never probed
 * before `cont`: a SYN sent to a paused guest is lost and costs a 1 s retransmit). Any failure throws
 * `SNAPSHOT_FAILED` (QEMU killed) so the caller can fall back; a share problem stays HOST_SHARE_FAILED.
 */
export async function resumeSnapshot(ctx: BootContext, entry: SnapshotEntry): Promise<BootedVm> {
  const p = ctx.config.paths;
  let vm: VmProcess | undefined;
  try {
    const raw = await new SnapshotCache(p.snapshots).prepareResume(entry, { signal: ctx.signal });
    if (!entry.diskPath) throw new EmulatorError('SNAPSHOT_FAILED', `snapshot ${entry.id} has no frozen disk`);
    const launched = await launchGuest(ctx, {
      layout: 'snapshot', disk: p.overlay, newOverlayOn: entry.diskPath, configIso: p.configIso, configValues: entry.meta.key.configDisk,
      incoming: { path: raw, format: entry.meta.key.format }, shares: ctx.shares, agentTimeoutMs: 30_000,
    });
    vm = launched.vm;
    const secrets = await settleGuest(ctx, launched, {
      syncClock: true, secrets: ctx.config.rotation ? 'rotate' : 'placeholders', rotationTimeoutMs: 60_000, healthTimeoutMs: ctx.config.snapshotReadyTimeoutMs,
    });
    return { vm, secrets };
  } catch (e) {
    await vm?.kill();
    if (ctx.signal?.aborted) throw new EmulatorError('INTERRUPTED', 'interrupted during resume', { cause: e });
    // The share is the host's business, not the snapshot's: never a reason to quarantine it.
    if (e instanceof EmulatorError && e.code === 'HOST_SHARE_FAILED') throw e;
    throw new EmulatorError('SNAPSHOT_FAILED', (e as Error).message, { cause: e, transient: isTimeout(e) });
  }
}
