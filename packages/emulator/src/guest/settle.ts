import { generateSecrets, PLACEHOLDERS, type SecretSet, writeClientKeyFile } from '@stack/secret-rotation';
import { type BootEnv, mark } from '../boot/boot-env.js';
import { EmulatorError } from '../errors.js';
import type { Launched } from '../vm/launch.js';
import { rememberClockDaemon } from '../image/clock-daemon.js';
import { describeUnhealthy } from './health.js';
import { retargetGuest } from './retarget.js';

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
   * when it is not. @default false
   */
  verifyKept?: boolean;
  /**
   * The host ports to hand the guest (`retargetFor`: an image that retargets, resumed where its guest
   * holds other ports), through its retarget hook, before the secrets and the health probes. The
   * hook may restart what reads them, so the secrets go after it. @default none
   */
  retarget?: Readonly<Record<string, string>>;
  /** Wait this long for the services before rotating (a booting guest: the hook talks to them). @default no wait */
  healthyFirstMs?: number;
  rotationTimeoutMs: number;
  /** How long the services may take to answer after the rotation. */
  healthTimeoutMs: number;
}

/** Pushes fresh secrets (or `secrets`) and publishes the client key for the host (0600). */
async function rotate(env: BootEnv, { agent }: Launched, timeoutMs: number, secrets?: SecretSet): Promise<void> {
  const set = await agent.rotate({ timeout: timeoutMs, signal: env.op.signal, ...(secrets ? { secrets } : {}) });
  await writeClientKeyFile(env.op.config.paths.internalPck, set.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY);
}

/** Whether the backend accepts `key` as the internal project's client key, once it is healthy. */
async function keyAccepted(env: BootEnv, key: string, timeoutMs: number): Promise<boolean> {
  const { services } = env.op.seams;
  const ports = env.op.config.ports;
  const health = await services.waitHealthy(ports, { timeoutMs, signal: env.op.signal });
  if (!health.healthy) return true; // the health check after it reports it
  const r = await services.request(ports.backend, '/api/v1/projects/current', {
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
  env: BootEnv,
  launched: Launched,
  plan: SettlePlan & { shares: readonly string[] },
): Promise<SecretsState> {
  const { op } = env;
  const { vm, agent, pluggedShares } = launched;
  const p = op.config.paths;
  const { services, clock } = op.seams;
  let warm: AbortController | undefined;
  let warming: Promise<unknown> | undefined;
  let clockDone: Promise<void> = Promise.resolve();
  let probe: AbortController | undefined;
  // The first process the agent spawns after a resume costs ~0.2 s of TCG translating the kernel's
  // fork and exec paths and the C library again (measured: guest-exec took 0.22 s to return a pid,
  // the next one 0.05 s). The agent runs one command at a time, so the step that decides when the
  // guest is ready (the share mount, else the rotation) is spawned first, and the clock right behind
  // it, to run beside it (golden resume with rotation: 0.88 s -> 0.77 s to all-healthy, TCG).
  let clockStarted = false;
  const startClock = () => {
    if (!plan.syncClock || clockStarted) return;
    clockStarted = true;
    const daemon = env.clockDaemon === false ? { daemon: false as const } : {};
    clockDone = agent.setClock(clock, { signal: op.signal, ...daemon }).then(async ({ via, warning, noDaemon }) => {
      if (warning) op.reporter.warn(warning);
      if (via) op.trace.event('clock', { via });
      mark(env, 'clockSet');
      // A cache: a start never fails for it.
      if (noDaemon) await rememberClockDaemon(op.config, env.image.digest, false).catch(() => {});
    });
    clockDone.catch(() => {}); // awaited below; an abort rejects it while another step also fails
  };
  try {
    if (plan.shares.length > 0) {
      for (let slot = pluggedShares; slot < plan.shares.length; slot++)
        await vm.control.plugShare(slot, { signal: op.signal });
      const mounting = agent.mountShares(
        plan.shares
          .map((dir, slot) => ({ slot, dir, readonly: env.readonlyShares.includes(dir) }))
          .filter((s) => s.dir !== p.emptyShare),
        { signal: op.signal },
      );
      startClock();
      await mounting;
      mark(env, 'shareMounted');
    }
    if (plan.retarget) {
      // As long as a boot may take: a hook may restart every service (the Stack image's container).
      const retargeting = retargetGuest(agent, plan.retarget, {
        timeoutMs: op.config.readyTimeoutMs,
        ...(op.signal ? { signal: op.signal } : {}),
        serialLog: p.serialLog,
      });
      startClock();
      await retargeting;
      mark(env, 'retargeted');
    }
    if (plan.healthyFirstMs !== undefined && plan.secrets === 'rotate') {
      startClock();
      const first = await services.waitHealthy(op.config.ports, { timeoutMs: plan.healthyFirstMs, signal: op.signal });
      if (!first.healthy)
        throw new EmulatorError(
          'NOT_HEALTHY',
          `services not healthy within ${plan.healthyFirstMs / 1000} s of a cold boot: ${describeUnhealthy(first.services)}`,
          { hint: `guest console: ${p.serialLog}` },
        );
    } else if (plan.syncClock) {
      warm = new AbortController();
      warming = services
        .waitHealthy(op.config.ports, { timeoutMs: plan.healthTimeoutMs, signal: warm.signal })
        .catch(() => undefined);
    }
    let state: SecretsState;
    try {
      if (plan.secrets === 'rotate') {
        const rotating = rotate(env, launched, plan.rotationTimeoutMs);
        // The rotation's guest-exec is written by now (before its first await): the clock queues behind it.
        startClock();
        await rotating;
        mark(env, 'rotated');
        state = 'fresh';
      } else {
        startClock();
        if (plan.secrets === 'keep' && plan.keptKey) {
          if (plan.verifyKept && !(await keyAccepted(env, plan.keptKey, plan.healthTimeoutMs))) {
            // The original's image renders its placeholders at every boot while its built JavaScript keeps
            // the key of its first rotation (its hook replaces only the placeholder there): the disk's own
            // client key goes back in, with fresh server-side secrets, so both agree again.
            op.reporter.warn(
              'the guest came up without the secrets of its last start (its image resets them at boot): putting its client key back, with fresh server-side secrets',
            );
            await rotate(env, launched, plan.rotationTimeoutMs, {
              ...generateSecrets(),
              STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY: plan.keptKey,
            });
            mark(env, 'rotated');
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
    const probing = services.waitHealthy(op.config.ports, {
      timeoutMs: plan.healthTimeoutMs,
      signal: op.signal ? AbortSignal.any([op.signal, probe.signal]) : probe.signal,
    });
    probing.catch(() => {});
    await clockDone;
    await agent.close();
    const health = await probing;
    if (!health.healthy) {
      throw new EmulatorError(
        'NOT_HEALTHY',
        `services not healthy within ${plan.healthTimeoutMs / 1000} s${state === 'fresh' ? ' after the secret rotation' : ''}: ${describeUnhealthy(health.services)}`,
        { hint: `guest console: ${p.serialLog}` },
      );
    }
    mark(env, 'healthy');
    return state;
  } catch (e) {
    warm?.abort();
    probe?.abort();
    await warming;
    await agent.close().catch(() => {});
    throw e;
  }
}
