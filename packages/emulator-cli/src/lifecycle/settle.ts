import { PLACEHOLDERS, writeClientKeyFile } from '@stack/secret-rotation';
import { EmulatorError } from '../errors.js';
import { type BootContext, mark } from './boot-context.js';
import { mountShares, plugShares, rotate, syncGuestClock } from './guest.js';
import { describeUnhealthy, waitHealthy } from './health.js';
import type { Launched } from './launch.js';

/** What the instance's secrets are after a start: fresh ones, the public placeholders, or kept from before. */
export type SecretsState = 'fresh' | 'placeholders' | 'kept';

export interface SettlePlan {
  /** A resumed guest's clock lags by its time in the snapshot: set it. */
  syncClock: boolean;
  /** `rotate`: fresh secrets; `placeholders`: keep and publish the public ones; `keep`: the guest's are kept and `keptKey` published. */
  secrets: 'rotate' | 'placeholders' | 'keep';
  keptKey?: string;
  /** Wait this long for the services before rotating (a booting guest: the hook talks to them). @default no wait */
  healthyFirstMs?: number;
  rotationTimeoutMs: number;
  /** How long the services may take to answer after the rotation. */
  healthTimeoutMs: number;
}

/**
 * Everything after the agent answers, the same on every path: the guest clock, the shares (plugged
 * and mounted), the secrets, and the health probes that decide. On a resume the services are probed
 * while the rotation runs: the first guest work after a resume pays for TCG retranslating kernel and
 * service code, and overlapping it with the probes cut 1.6 s to 1.4 s (started any earlier, the probes
 * slow the agent down instead). Closes the agent connection; the caller owns the VM.
 */
export async function settleGuest(ctx: BootContext, { vm, qga, pluggedShares }: Launched, plan: SettlePlan): Promise<SecretsState> {
  const p = ctx.config.paths;
  let warm: AbortController | undefined;
  let warming: Promise<unknown> | undefined;
  try {
    // The agent serialises its commands, so `date` is spawned first and runs in the guest beside the
    // share mount and the rotation instead of costing its own round trip before them.
    const clockDone = plan.syncClock
      ? syncGuestClock(qga, ctx.signal).then((warning) => {
          if (warning) ctx.reporter.warn(warning);
          mark(ctx, 'clockSet');
        })
      : Promise.resolve();
    clockDone.catch(() => {}); // awaited below; an abort rejects it while another step also fails
    if (ctx.shares.length > 0) {
      await plugShares(vm.qmp, pluggedShares, ctx.shares.length, ctx.signal);
      await mountShares(qga, ctx.shares.map((dir, slot) => ({ slot, dir })).filter((s) => s.dir !== p.emptyShare), ctx.signal);
      mark(ctx, 'shareMounted');
    }
    if (plan.healthyFirstMs !== undefined && plan.secrets === 'rotate') {
      const first = await waitHealthy(ctx.config.ports, { timeoutMs: plan.healthyFirstMs, signal: ctx.signal });
      if (!first.healthy) throw new EmulatorError('NOT_HEALTHY', `services not healthy within ${plan.healthyFirstMs / 1000} s of a cold boot: ${describeUnhealthy(first.services)}`, { hint: `guest console: ${p.serialLog}` });
    } else if (plan.syncClock) {
      warm = new AbortController();
      warming = waitHealthy(ctx.config.ports, { timeoutMs: plan.healthTimeoutMs, signal: warm.signal }).catch(() => undefined);
    }
    let state: SecretsState;
    try {
      if (plan.secrets === 'rotate') {
        await rotate(qga, p.internalPck, { signal: ctx.signal, timeoutMs: plan.rotationTimeoutMs });
        mark(ctx, 'rotated');
        state = 'fresh';
      } else if (plan.secrets === 'keep' && plan.keptKey) {
        await writeClientKeyFile(p.internalPck, plan.keptKey);
        state = 'kept';
      } else {
        await writeClientKeyFile(p.internalPck, PLACEHOLDERS.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY);
        state = 'placeholders';
      }
    } finally {
      warm?.abort();
      await warming;
    }
    await clockDone;
    await qga.close();
    const health = await waitHealthy(ctx.config.ports, { timeoutMs: plan.healthTimeoutMs, signal: ctx.signal });
    if (!health.healthy) {
      throw new EmulatorError('NOT_HEALTHY', `services not healthy within ${plan.healthTimeoutMs / 1000} s${state === 'fresh' ? ' after the secret rotation' : ''}: ${describeUnhealthy(health.services)}`, { hint: `guest console: ${p.serialLog}` });
    }
    mark(ctx, 'healthy');
    return state;
  } catch (e) {
    warm?.abort();
    await warming;
    await qga.close().catch(() => {});
    throw e;
  }
}
