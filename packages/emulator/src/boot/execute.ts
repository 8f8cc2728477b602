import { EmulatorError } from '../errors.js';
import { imageFacts } from './image-facts.js';
import { vcpuCount } from '../config/resolve-config.js';
import { rememberUnusable } from '../host/accel.js';
import { rememberRefusedFormat } from '../host/snapshot-support.js';
import type { FailedAttempt } from '../plan/attempt.js';
import { decideStart } from '../plan/decide.js';
import { classifyFailure, goldenVerdict, guestPanicked, recoverable } from '../plan/failure.js';
import { afterGoldenFailure, goldenResumed, lookupGolden } from '../session/golden.js';
import { acceleratorProblem } from '../vm/vm-problem.js';
import { compatibilityKey } from '../vm/vm-spec.js';
import { type BootEnv, mark, underAccel } from './boot-env.js';
import type { Booted } from './booted.js';
import { lockImageCapture } from './capture-lock.js';
import { captureSnapshot } from './capture.js';
import { gatherFacts } from './facts.js';
import { perform } from './perform.js';
import { clearLaunch, recordCapture, recordLaunch } from './record.js';

/** More attempts than any path of the table takes: a loop that does not end is a bug, said as one. */
const MAX_ATTEMPTS = 12;

/**
 * Carries out a start: asks the plan for an attempt, performs it, and on failure classifies it, acts
 * on it (quarantine, verdicts remembered) and asks again with what failed. An accelerator that
 * cannot run the guest restarts the whole plan under TCG with a new environment: nothing of the
 * failed attempt (a session it made, its image links) is reused.
 */
export async function executeStart(
  first: BootEnv,
  options: {
    /**
     * The start exists to resume the session (a checkpoint just restored into it, named here): any
     * other attempt is refused with the reason, before anything boots, and the session is kept.
     */
    resumeOnly?: string;
  } = {},
): Promise<{ env: BootEnv; booted: Booted }> {
  const { op } = first;
  let env = first;
  let failed: FailedAttempt[] = [];
  let captured = false;
  for (let n = 0; n < MAX_ATTEMPTS; n++) {
    const { facts, inputs } = await gatherFacts(env, { failed, captured });
    const attempt = decideStart(facts);
    op.trace.event('attempt', { attempt, accel: env.accel });
    if (options.resumeOnly && attempt.kind !== 'resume-session')
      throw new EmulatorError(
        'CHECKPOINT_INCOMPATIBLE',
        `${options.resumeOnly} cannot be resumed by this start: ${attempt.kind === 'cold-session' ? attempt.reason : `no session to resume (${attempt.kind})`}`,
        {
          hint: 'start with the options it was saved with (image, ports, memory, QEMU); the restored session is kept and a matching `stack-emulator start` resumes it',
        },
      );
    try {
      if (attempt.kind === 'capture') {
        const { lock, waited } = await lockImageCapture(env);
        try {
          if (waited && attempt.reason !== 'forced') {
            // Another start captured this image meanwhile (and learned its verdict): maybe the snapshot
            // this one can share, found by the next look.
            env = { ...env, ...(await imageFacts(op.config, env.image.digest)) };
            if ((await lookupGolden(env)).facts.kind === 'hit') continue;
          }
          const format = env.snapshots.format!;
          op.reporter.info(
            attempt.reason === 'forced'
              ? 'capturing a new snapshot (forced)'
              : `no usable snapshot: ${attempt.reason}; capturing one (one time)`,
          );
          await captureSnapshot(env, compatibilityKey(env, format), (vm) => recordCapture(env, vm));
          await clearLaunch(env);
          // The capture learned whether the image retargets its ports (the keys from here on follow it)
          // and whether it has the clock daemon.
          env = { ...env, ...(await imageFacts(op.config, env.image.digest)) };
        } finally {
          await lock.release();
        }
        mark(env, 'captured');
        captured = true;
        continue;
      }
      const booted = await perform(env, attempt, inputs, (vm, what) => recordLaunch(env, vm, what));
      if (attempt.kind === 'resume-golden') await goldenResumed(env, inputs.golden!);
      return { env, booted };
    } catch (e) {
      await clearLaunch(env);
      const accel = acceleratorProblem(env, e);
      const kind = classifyFailure(e, { aborted: op.signal?.aborted === true, acceleratorProblem: accel });
      let message = (e as Error).message;
      op.trace.event('attempt-failed', { attempt: attempt.kind, kind, message });
      if (kind === 'accelerator') {
        await rememberUnusable(op.config, env.host.probe, env.accel, accel!);
        op.reporter.warn(`${env.accel} cannot run the guest on this host (${accel}); retrying with tcg`);
        env = underAccel(
          env,
          'tcg',
          `${env.accel} cannot run the guest on this host (${accel})`,
          vcpuCount(op.config.cpus, 'tcg'),
        );
        failed = [];
        captured = false;
        continue;
      }
      if (attempt.kind === 'resume-golden') await afterGoldenFailure(env, inputs.golden!, goldenVerdict(kind), message);
      if (attempt.kind === 'capture' && kind !== 'interrupted') {
        if (kind === 'refused-format') {
          await rememberRefusedFormat(op.config, env.host.probe, env.snapshots.format!, message);
          message += ' (remembered for this QEMU: the next start will not try this format again)';
        }
        op.reporter.warn(`snapshot capture failed: ${message}`);
      }
      if (!recoverable(attempt.kind, kind)) throw e;
      failed = [...failed, { attempt: attempt.kind, message, ...(guestPanicked(e) ? { guestPanicked: true } : {}) }];
    }
  }
  throw new EmulatorError(
    'SNAPSHOT_FAILED',
    `no way to start after ${MAX_ATTEMPTS} attempts (a bug: please report it)`,
  );
}
