import type { SnapshotEntry } from '@stack/snapshot-cache';
import type { FailedAttempt, StartFacts } from '../plan/attempt.js';
import { lookupGolden } from '../session/golden.js';
import { earlierDisk } from '../session/legacy-home.js';
import { openSession, ramProblem } from '../session/session.js';
import type { BootEnv } from './boot-env.js';
import type { AttemptInputs } from './perform.js';

/** Why no snapshot can be used by this start at all, or undefined. */
function noSnapshots(env: BootEnv): string | undefined {
  if (!env.op.config.snapshot) return 'snapshots disabled (--no-snapshot or EMULATOR_NO_SNAPSHOT=1)';
  return env.snapshots.format === undefined ? env.snapshots.reason : undefined;
}

/**
 * The facts the plan decides on, read afresh before each attempt (an attempt may have made or dropped
 * a session, captured a snapshot or quarantined one): the session and whether its RAM fits, an
 * earlier tool's disk, the golden snapshot of this accelerator's key.
 */
export async function gatherFacts(
  env: BootEnv,
  progress: { failed: readonly FailedAttempt[]; captured: boolean },
): Promise<{ facts: StartFacts; inputs: AttemptInputs }> {
  const { config } = env.op;
  const session = config.ephemeral ? undefined : await openSession(config);
  const earlier =
    config.ephemeral || session
      ? undefined
      : await earlierDisk(config, env.image, { warn: (t) => env.op.reporter.warn(t) });
  const none = noSnapshots(env);
  let golden: StartFacts['golden'] = { kind: 'missing', reason: none ?? 'not looked up' };
  let entry: SnapshotEntry | undefined;
  if (!none && !session && !earlier) ({ facts: golden, entry } = await lookupGolden(env));
  return {
    facts: {
      ephemeral: config.ephemeral,
      ...(none ? { noSnapshots: none } : {}),
      forceCapture: config.forceCapture,
      ...(session
        ? { session: { ...(ramProblem(env, session.meta) ? { ramProblem: ramProblem(env, session.meta) } : {}) } }
        : {}),
      ...(earlier ? { earlierDisk: { from: earlier.from } } : {}),
      golden,
      captured: progress.captured,
      failed: progress.failed,
    },
    inputs: { ...(session ? { session } : {}), ...(entry ? { golden: entry } : {}) },
  };
}
