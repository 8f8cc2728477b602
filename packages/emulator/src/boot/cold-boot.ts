import { runtimeEnv } from '../image/config-disk.js';
import { learnPortVerdict } from '../guest/retarget.js';
import { secretsFor } from '../guest/secrets.js';
import { type SecretsState, settleGuest } from '../guest/settle.js';
import { launchGuest } from '../vm/launch.js';
import type { Vm } from '../seams/vm.js';
import type { BootEnv } from './boot-env.js';
import type { Launching, OnLaunched } from './booted.js';

export interface ColdBootPlan {
  /** The disk to boot: a session's as it is, or (with `freshOn`) made a fresh overlay first. */
  disk: string;
  freshOn?: string;
  /** The snapshot layout when the session may be saved at stop, else the cold layout. */
  layout: 'cold' | 'snapshot';
  /** The client key of the secrets the disk already holds (a disk used before). */
  previousKey?: string;
  /** The image and boot files QEMU runs. @default the start's */
  target?: Pick<BootEnv, 'image' | 'boot'>;
  shares: readonly string[];
  /** Recorded the moment QEMU runs. */
  launching: Launching;
}

/**
 * A cold boot. The guest never publishes into a host directory (STACK_EMULATOR_VM_DIR_HOST stays
 * empty); the host publishes the key. Never the public placeholders, unless rotation is turned off.
 * Rotation and health get the cold-boot limits: a cold boot's rotation restarts services that are
 * only just up. QEMU is killed when it fails.
 */
export async function coldBoot(
  env: BootEnv,
  plan: ColdBootPlan,
  onLaunched: OnLaunched,
): Promise<{ vm: Vm; secrets: SecretsState }> {
  const { config } = env.op;
  const launched = await launchGuest(env, {
    layout: plan.layout,
    disk: plan.disk,
    ...(plan.freshOn ? { newOverlayOn: plan.freshOn } : {}),
    ...(plan.target ? { boot: plan.target.boot } : {}),
    configIso: config.paths.configIso,
    configValues: runtimeEnv(config, ''),
    shares: plan.shares,
    agentTimeoutMs: config.readyTimeoutMs,
    onLaunched: (vm) => onLaunched(vm, plan.launching),
  });
  try {
    await learnPortVerdict(env, launched.agent);
    const secrets = await secretsFor(env, launched.agent, plan.previousKey);
    if (secrets.secrets === 'keep')
      env.op.reporter.info('keeping the secrets this disk already has (the published key stays valid)');
    const state = await settleGuest(env, launched, {
      syncClock: false,
      ...secrets,
      verifyKept: true,
      healthyFirstMs: config.readyTimeoutMs,
      rotationTimeoutMs: config.readyTimeoutMs,
      healthTimeoutMs: config.readyTimeoutMs,
      shares: plan.shares,
    });
    return { vm: launched.vm, secrets: state };
  } catch (e) {
    await launched.vm.kill();
    throw e;
  }
}
