import { generateSecrets, PLACEHOLDERS, writeClientKeyFile } from '@stack/secret-rotation';
import { EmulatorError } from '../errors.js';
import { type BootContext, mark } from '../boot/boot-context.js';
import { mountShares, plugShares, rotate, syncGuestClock } from './guest.js';
import { describeUnhealthy, waitHealthy } from './health.js';
import type { Launched } from '../vm/launch.js';
import { loopbackRequest } from './loopback-http.js';

/** What the instance's secrets are after a start: fresh ones, the public placeholders, or kept from before. */
export type SecretsState = 'fresh' | 'placeholders' | 'kept';

export interface SettlePlan {
  /** A resumed guest's clock lags by its time in the snapshot: set it. */
  syncClock: boolean;
  /** `rotate`: fresh secrets; `placeholders`: keep and publish the public ones; `keep`: the guest's are kept and `keptKey` published. */
  secrets: 'rotate' | 'placeholders' | 'keep';
  keptKey?: string;
  /**
   * A booted guest (not a resumed one) may have reset its secrets on the way up: the original's
   * image renders the placeholders at every boot. Check that the kept key is accepted, and rotate
   * when it is not (where rotation is on). @default false
   */
  verifyKept?: boolean;
  /** Wait this long for the services before rotating (a booting guest: the hook talks to them). @default no wait */
  healthyFirstMs?: number;
  rotationTimeoutMs: number;
  /** How long the services may take to answer after the rotation. */
  healthTimeoutMs: number;
}

/** Whether the backend accepts `key` as the internal project's client key, once it is healthy. */
async function keyAccepted(ctx: BootContext, key: string, timeoutMs: number): Promise<boolean> {
  const health = await waitHealthy(ctx.config.ports, { timeoutMs, signal: ctx.signal });
  if (!health.healthy) return true; // the health check below reports it
  const r = await loopbackRequest(ctx.config.ports.backend, '/api/v1/projects/current', {
    headers: { 'x-stack-project-id': 'internal', 'x-stack-publishable-client-key': key },
    timeout: 10_000,
  });
  return r.status !== 401;
}

/**
 * Everything after the agent answers, the same on every path: the guest clock, the shares (plugged
 * and mounted), the secrets, and the health probes that decide. On a resume the services are probed
 * while the rotation runs: the first guest work after a resume pays for TCG retranslating kernel and
 * service code, and overlapping it with the probes cut 1.6 s to 1.4 s (started any earlier, the probes
 * slow the agent down instead). Closes the agent connection; the caller owns the VM.
 */
export async function settleGuest(
  ctx: BootContext,
  { vm, qga, pluggedShares }: Launched,
  plan: SettlePlan,
): Promise<SecretsState> {
  const p = ctx.config.paths;
  let warm: AbortController | undefined;
  let warming: Promise<unknown> | undefined;
  let clockDone: Promise<void> = Promise.resolve();
  let probe: AbortController | undefined;
  // The first process the agent spawns after a resume costs ~0.2 s of TCG translating the kernel's
  // fork and exec paths and the C library again (measured: guest-exec took 0.22 s to return a pid,
  // the next one 0.05 s). The agent runs one command at a time, so the step that decides when the
  // guest is ready (the share mount, else the rotation) is spawned first, and `date` right behind
  // it, to run beside it (golden resume with rotation: 0.88 s -> 0.77 s to all-healthy, TCG).
  let clockStarted = false;
  // Once, right after the first guest command of this start is sent (or before a wait that sends none).
  const startClock = () => {
    if (!plan.syncClock || clockStarted) return;
    clockStarted = true;
    clockDone = syncGuestClock(qga, ctx.signal).then((warning) => {
      if (warning) ctx.reporter.warn(warning);
      mark(ctx, 'clockSet');
    });
    clockDone.catch(() => {}); // awaited below; an abort rejects it while another step also fails
  };
  try {
    if (ctx.shares.length > 0) {
      await plugShares(vm.qmp, pluggedShares, ctx.shares.length, ctx.signal);
      const mounting = mountShares(
        qga,
        ctx.shares.map((dir, slot) => ({ slot, dir })).filter((s) => s.dir !== p.emptyShare),
        ctx.signal,
      );
      startClock();
      await mounting;
      mark(ctx, 'shareMounted');
    }
    if (plan.healthyFirstMs !== undefined && plan.secrets === 'rotate') {
      startClock();
      const first = await waitHealthy(ctx.config.ports, { timeoutMs: plan.healthyFirstMs, signal: ctx.signal });
      if (!first.healthy)
        throw new EmulatorError(
          'NOT_HEALTHY',
          `services not healthy within ${plan.healthyFirstMs / 1000} s of a cold boot: ${describeUnhealthy(first.services)}`,
          { hint: `guest console: ${p.serialLog}` },
        );
    } else if (plan.syncClock) {
      warm = new AbortController();
      warming = waitHealthy(ctx.config.ports, { timeoutMs: plan.healthTimeoutMs, signal: warm.signal }).catch(
        () => undefined,
      );
    }
    let state: SecretsState;
    try {
      if (plan.secrets === 'rotate') {
        const rotating = rotate(qga, p.internalPck, { signal: ctx.signal, timeoutMs: plan.rotationTimeoutMs });
        // rotate() has written its guest-exec by now (before its first await): the clock queues behind it.
        startClock();
        await rotating;
        mark(ctx, 'rotated');
        state = 'fresh';
      } else {
        startClock();
        if (plan.secrets === 'keep' && plan.keptKey) {
          if (plan.verifyKept && !(await keyAccepted(ctx, plan.keptKey, plan.healthTimeoutMs))) {
            // The original's image renders its placeholders at every boot while its built JavaScript keeps
            // the key of its first rotation (its hook replaces only the placeholder there): the disk's own
            // client key goes back in, with fresh server-side secrets, so both agree again.
            ctx.reporter.warn(
              'the guest came up without the secrets of its last start (its image resets them at boot): putting its client key back, with fresh server-side secrets',
            );
            await rotate(qga, p.internalPck, {
              signal: ctx.signal,
              timeoutMs: plan.rotationTimeoutMs,
              secrets: { ...generateSecrets(), STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY: plan.keptKey },
            });
            mark(ctx, 'rotated');
          } else {
            await writeClientKeyFile(p.internalPck, plan.keptKey);
          }
          state = 'kept';
        } else {
          await writeClientKeyFile(p.internalPck, PLACEHOLDERS.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY);
          state = 'placeholders';
        }
      }
    } finally {
      warm?.abort();
      await warming;
    }
    // The final probes run while the clock is still being set (without a rotation it is the only guest
    // work left); the start is healthy once both are done.
    probe = new AbortController();
    const probing = waitHealthy(ctx.config.ports, {
      timeoutMs: plan.healthTimeoutMs,
      signal: ctx.signal ? AbortSignal.any([ctx.signal, probe.signal]) : probe.signal,
    });
    probing.catch(() => {});
    await clockDone;
    await qga.close();
    const health = await probing;
    if (!health.healthy) {
      throw new EmulatorError(
        'NOT_HEALTHY',
        `services not healthy within ${plan.healthTimeoutMs / 1000} s${state === 'fresh' ? ' after the secret rotation' : ''}: ${describeUnhealthy(health.services)}`,
        { hint: `guest console: ${p.serialLog}` },
      );
    }
    mark(ctx, 'healthy');
    return state;
  } catch (e) {
    warm?.abort();
    probe?.abort();
    await warming;
    await qga.close().catch(() => {});
    throw e;
  }
}
