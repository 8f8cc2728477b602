import { SnapshotCache, type SnapshotEntry } from '@stack/snapshot-cache';
import { EmulatorError } from '../errors.js';
import { accelFailure, type BootContext, compatibilityKey, mark } from '../boot/boot-context.js';
import { captureSnapshot } from '../boot/capture.js';
import { rememberRefusedFormat } from '../host/snapshot-support.js';

/** Failed resumes in a row (timeouts) after which a snapshot is quarantined. */
const QUARANTINE_AFTER = 2;

export type Golden = { entry: SnapshotEntry } | { entry: undefined; reason: string };

/**
 * The golden snapshot of this start's configuration, captured first when there is none (or when
 * forced); or why there is none, for the cold boot that replaces it. A quarantined snapshot is not
 * re-captured on its own: that costs minutes, the user asks for it with `capture`.
 */
export async function goldenSnapshot(ctx: BootContext): Promise<Golden> {
  const { config, reporter } = ctx;
  if (!config.snapshot)
    return { entry: undefined, reason: 'snapshots disabled (--no-snapshot or EMULATOR_NO_SNAPSHOT=1)' };
  if (ctx.snapshots.format === undefined) return { entry: undefined, reason: ctx.snapshots.reason };
  const key = compatibilityKey(ctx, ctx.snapshots.format);
  const found = await new SnapshotCache(config.paths.snapshots).lookup(key);
  if (found.hit && !config.forceCapture) return { entry: found.entry };
  if (!found.hit && found.quarantined && !config.forceCapture)
    return { entry: undefined, reason: `${found.reason}; run \`stack-emulator capture\` to take a new one` };
  reporter.info(
    config.forceCapture
      ? 'capturing a new snapshot (forced)'
      : `no usable snapshot: ${found.hit ? '' : found.reason}; capturing one (one time)`,
  );
  try {
    const entry = await captureSnapshot(ctx, key);
    mark(ctx, 'captured');
    return { entry };
  } catch (e) {
    if (e instanceof EmulatorError && e.code === 'INTERRUPTED') throw e;
    if (accelFailure(ctx)) throw e;
    let reason = `snapshot capture failed: ${(e as Error).message}`;
    if (e instanceof EmulatorError && e.code === 'SNAPSHOT_UNSUPPORTED') {
      await rememberRefusedFormat(config, ctx.host.probe, key.format, e.message);
      reason += ' (remembered for this QEMU: the next start will not try this format again)';
    }
    reporter.warn(reason);
    return { entry: undefined, reason };
  }
}

/**
 * After a golden resume failed: a broken snapshot is quarantined at once; a timeout (maybe a loaded
 * host) only the second time in a row, so one slow moment does not cost the snapshot. Returns the
 * reason for the cold boot that follows (already reported).
 */
export async function goldenFailed(ctx: BootContext, entry: SnapshotEntry, e: unknown): Promise<string> {
  const cache = new SnapshotCache(ctx.config.paths.snapshots);
  const reason = `resume failed: ${(e as Error).message}`;
  const failures =
    e instanceof EmulatorError && e.transient
      ? await cache.recordFailure(entry, (e as Error).message)
      : QUARANTINE_AFTER;
  if (failures >= QUARANTINE_AFTER) {
    const where = await cache.quarantine(entry, (e as Error).message);
    ctx.reporter.warn(`${reason}; snapshot quarantined (${where}); falling back to a cold boot`);
  } else {
    ctx.reporter.warn(
      `${reason}; the snapshot is kept (a timeout; a second one in a row quarantines it); falling back to a cold boot`,
    );
  }
  return reason;
}

/** A successful resume ends a run of failures. */
export async function goldenResumed(ctx: BootContext, entry: SnapshotEntry): Promise<void> {
  await new SnapshotCache(ctx.config.paths.snapshots).clearFailures(entry);
}
