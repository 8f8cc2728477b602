import type { SnapshotEntry } from '@stack/snapshot-cache';
import type { Attempt } from '../plan/attempt.js';
import type { Session } from '../session/session.js';
import type { BootEnv } from './boot-env.js';
import type { Booted, OnLaunched } from './booted.js';
import { coldFresh, resumeGoldenInto } from './fresh-attempts.js';
import { adoptEarlierDisk, coldOnSession, resumeSavedSession } from './session-attempts.js';

/** What an attempt may use beyond the start's environment: the facts it was decided on. */
export interface AttemptInputs {
  session?: Session;
  golden?: SnapshotEntry;
}

/**
 * Carries out one boot attempt of the plan (a capture is not one: see execute.ts). A session it makes
 * is dropped again when it fails (it holds nothing yet); QEMU is never left running on failure.
 */
export async function perform(
  env: BootEnv,
  attempt: Exclude<Attempt, { kind: 'capture' }>,
  inputs: AttemptInputs,
  onLaunched: OnLaunched,
): Promise<Booted> {
  switch (attempt.kind) {
    case 'resume-session':
      return resumeSavedSession(env, inputs.session!, onLaunched);
    case 'cold-session':
      env.op.reporter.warn(`${attempt.reason}; cold boot on the session's disk (data kept)`);
      return coldOnSession(env, inputs.session!, attempt.reason, onLaunched);
    case 'adopt':
      return adoptEarlierDisk(env, attempt.from, onLaunched);
    case 'resume-golden':
      return resumeGoldenInto(env, inputs.golden!, attempt.target, onLaunched);
    case 'cold-fresh':
      return coldFresh(env, attempt.target, attempt.reason, onLaunched);
  }
}
