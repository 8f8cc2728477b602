import type { Attempt, AttemptKind, StartFacts } from './attempt.js';

const failure = (f: StartFacts, kind: AttemptKind) => f.failed.find((x) => x.attempt === kind);

/**
 * The decision table of `start` (docs/ARCHITECTURE.md, "A start is a plan"): which attempt comes next
 * given the facts and what already failed. Pure; every row has a unit test.
 *
 * | facts                                                   | attempt                        |
 * |---------------------------------------------------------|--------------------------------|
 * | session, its RAM fits, not failed                       | resume-session                 |
 * | session otherwise                                       | cold-session (reason)          |
 * | no session, an earlier tool's disk                      | adopt (then cold on it)        |
 * | no snapshots possible                                   | cold-fresh (why)               |
 * | capture failed once, its guest panicked                 | capture (again)                |
 * | golden resume or capture failed                         | cold-fresh (the failure)       |
 * | golden hit (and not forced, or captured now)            | resume-golden                  |
 * | golden quarantined, not forced                          | cold-fresh (run capture)       |
 * | otherwise                                               | capture                        |
 *
 * Without `ephemeral` the fresh boots make a new session; with it they run on a throwaway disk and
 * the session rows do not apply.
 */
export function decideStart(f: StartFacts): Attempt {
  if (!f.ephemeral && f.session) {
    const resumeFailed = failure(f, 'resume-session');
    if (!f.session.ramProblem && !resumeFailed) return { kind: 'resume-session' };
    return {
      kind: 'cold-session',
      reason: resumeFailed ? `the session resume failed: ${resumeFailed.message}` : f.session.ramProblem!,
    };
  }
  if (!f.ephemeral && f.earlierDisk) return { kind: 'adopt', from: f.earlierDisk.from };
  const target = f.ephemeral ? 'ephemeral' : 'new-session';
  if (f.noSnapshots) return { kind: 'cold-fresh', target, reason: f.noSnapshots };
  const resumeFailed = failure(f, 'resume-golden');
  if (resumeFailed) return { kind: 'cold-fresh', target, reason: `resume failed: ${resumeFailed.message}` };
  const captureFailed = failure(f, 'capture');
  // A capture whose guest panicked at boot is tried once more: the panic is not the image's (seen once
  // under QEMU 7.2's TCG, and the cold boot right after it was healthy), and giving up on the capture
  // would cold-boot every start until one succeeds.
  const captures = f.failed.filter((x) => x.attempt === 'capture');
  if (captureFailed && captures.length === 1 && captureFailed.guestPanicked && !f.captured)
    return { kind: 'capture', reason: 'the guest kernel panicked while the snapshot was being captured: again, once' };
  if (captureFailed && !f.captured)
    return { kind: 'cold-fresh', target, reason: `snapshot capture failed: ${captureFailed.message}` };
  if (f.golden.kind === 'hit' && (!f.forceCapture || f.captured)) return { kind: 'resume-golden', target };
  if (f.golden.kind === 'quarantined' && !f.forceCapture)
    return {
      kind: 'cold-fresh',
      target,
      reason: `${f.golden.reason}; run \`stack-emulator capture\` to take a new one`,
    };
  return {
    kind: 'capture',
    reason: f.forceCapture ? 'forced' : f.golden.kind === 'hit' ? 'forced' : f.golden.reason,
  };
}
