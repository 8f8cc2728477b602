import { SnapshotCache, type SnapshotEntry } from '@stack/snapshot-cache';
import type { BootEnv } from '../boot/boot-env.js';
import type { GoldenFacts } from '../plan/attempt.js';
import type { GoldenVerdict } from '../plan/failure.js';
import { portsReason } from '../image/port-retargeting.js';
import { compatibilityKey } from '../vm/vm-spec.js';

/** Failed resumes in a row (timeouts) after which a snapshot is quarantined. */
const QUARANTINE_AFTER = 2;

/** The golden snapshot of this start's configuration, as the plan sees it, and its entry on a hit. */
export async function lookupGolden(env: BootEnv): Promise<{ facts: GoldenFacts; entry?: SnapshotEntry }> {
  if (env.snapshots.format === undefined) return { facts: { kind: 'missing', reason: env.snapshots.reason } };
  const found = await new SnapshotCache(env.op.config.paths.snapshots).lookup(
    compatibilityKey(env, env.snapshots.format),
  );
  if (found.hit) return { facts: { kind: 'hit' }, entry: found.entry };
  return {
    facts: found.quarantined
      ? { kind: 'quarantined', reason: found.reason }
      : {
          kind: 'missing',
          reason: portsReason(env.portVerdict, found.differences, env.op.config.ports) ?? found.reason,
        },
  };
}

/**
 * After a golden resume failed: a broken snapshot is quarantined at once; a timeout (maybe a loaded
 * host) only the second time in a row, so one slow moment does not cost the snapshot; a failure of
 * the host's leaves it alone. Reports what it did.
 */
export async function afterGoldenFailure(
  env: BootEnv,
  entry: SnapshotEntry,
  verdict: GoldenVerdict,
  message: string,
): Promise<void> {
  const cache = new SnapshotCache(env.op.config.paths.snapshots);
  const reason = `resume failed: ${message}`;
  const failures =
    verdict === 'count-timeout'
      ? await cache.recordFailure(entry, message)
      : verdict === 'quarantine'
        ? QUARANTINE_AFTER
        : 0;
  if (failures >= QUARANTINE_AFTER) {
    const where = await cache.quarantine(entry, message);
    env.op.reporter.warn(`${reason}; snapshot quarantined (${where}); falling back to a cold boot`);
  } else if (verdict === 'count-timeout') {
    env.op.reporter.warn(
      `${reason}; the snapshot is kept (a timeout; a second one in a row quarantines it); falling back to a cold boot`,
    );
  } else {
    env.op.reporter.warn(
      `${reason}; the snapshot is kept (the host's failure, not the snapshot's); falling back to a cold boot`,
    );
  }
}

/** A successful resume ends a run of failures. */
export async function goldenResumed(env: BootEnv, entry: SnapshotEntry): Promise<void> {
  await new SnapshotCache(env.op.config.paths.snapshots).clearFailures(entry);
}
