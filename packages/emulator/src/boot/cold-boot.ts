import { readFile } from 'node:fs/promises';
import { exec, type QgaClient } from '@stack/qga-protocol';
import { PLACEHOLDERS } from '@stack/secret-rotation';
import { EmulatorError } from '../errors.js';
import type { BootContext } from './boot-context.js';
import { runtimeEnv } from '../image/config-disk.js';
import { launchGuest } from '../vm/launch.js';
import type { BootedVm } from './resume.js';
import { settleGuest, type SettlePlan } from '../guest/settle.js';
import type { VmProcess } from '../vm/vm-process.js';

/**
 * Guest contract marker: an image whose rotation hook can replace any current value (not only its
 * placeholders) says so with this file. The original's hook swaps the placeholder key in its built
 * JavaScript: run a second time, it finds nothing to replace and the app keeps the old key.
 */
const ROTATES_ANY_VALUE_MARKER = '/etc/stack-emulator/rotates-from-any-value';

async function guestHas(qga: QgaClient, path: string, signal?: AbortSignal): Promise<boolean> {
  const r = await exec(qga, {
    path: '/bin/sh',
    args: ['-c', 'test -e "$1"', 'test', path],
    timeout: 20_000,
    signal,
  }).catch(() => undefined);
  return r?.exitCode === 0;
}

/** A client key file's key (kept after stop, as the original keeps it), when it holds one. */
export async function keyInFile(path: string): Promise<string | undefined> {
  const k = (await readFile(path, 'utf8').catch(() => '')).trim();
  return /^[0-9a-f]{64}$/.test(k) ? k : undefined;
}

const isPlaceholder = (key: string | undefined) =>
  key === undefined || key === PLACEHOLDERS.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY;

/**
 * The secrets of a guest on a disk that may have been used before (`previousKey`: the client key
 * its secrets publish). A fresh disk holds the placeholders: rotated (or kept, rotation off). A used
 * disk keeps its secrets, so keys handed out before stay valid; `--rotate` rotates it anyway where
 * the image says its hook can replace any value (the marker), and says why not elsewhere.
 */
export async function secretsFor(
  ctx: BootContext,
  qga: QgaClient,
  previousKey: string | undefined,
): Promise<Pick<SettlePlan, 'secrets' | 'keptKey'>> {
  if (isPlaceholder(previousKey)) return { secrets: ctx.config.rotation ? 'rotate' : 'placeholders' };
  if (ctx.config.forceRotate && ctx.config.rotation) {
    if (await guestHas(qga, ROTATES_ANY_VALUE_MARKER, ctx.signal)) return { secrets: 'rotate' };
    ctx.reporter.warn(
      `--rotate: this image rotates only from its placeholders (no ${ROTATES_ANY_VALUE_MARKER}); keeping the secrets its disk has`,
    );
  }
  return { secrets: 'keep', keptKey: previousKey };
}

export interface ColdBootPlan {
  /** The disk to boot: a session's as it is, or (with `freshOn`) made a fresh overlay first. */
  disk: string;
  freshOn?: string;
  /** The snapshot layout when the session may be saved at stop, else the cold layout. */
  layout: 'cold' | 'snapshot';
  /** The client key of the secrets the disk already holds (a disk used before). */
  previousKey?: string;
}

/**
 * A cold boot. The guest never publishes into a host directory (STACK_EMULATOR_VM_DIR_HOST stays
 * empty: none is shared); the CLI publishes the key. Never the public placeholders, unless rotation
 * is turned off. Rotation and health get the cold-boot limits: a cold boot's rotation restarts
 * services that are only just up.
 */
export async function coldBoot(ctx: BootContext, plan: ColdBootPlan): Promise<BootedVm> {
  const p = ctx.config.paths;
  let vm: VmProcess | undefined;
  try {
    const launched = await launchGuest(ctx, {
      layout: plan.layout,
      disk: plan.disk,
      ...(plan.freshOn ? { newOverlayOn: plan.freshOn } : {}),
      configIso: p.configIso,
      configValues: runtimeEnv(ctx.config, ''),
      shares: ctx.shares,
      agentTimeoutMs: ctx.config.readyTimeoutMs,
    });
    vm = launched.vm;
    const secrets = await secretsFor(ctx, launched.qga, plan.previousKey);
    if (secrets.secrets === 'keep')
      ctx.reporter.info('keeping the secrets this disk already has (the published key stays valid)');
    const state = await settleGuest(ctx, launched, {
      syncClock: false,
      ...secrets,
      verifyKept: true,
      healthyFirstMs: ctx.config.readyTimeoutMs,
      rotationTimeoutMs: ctx.config.readyTimeoutMs,
      healthTimeoutMs: ctx.config.readyTimeoutMs,
    });
    return { vm, secrets: state };
  } catch (e) {
    await vm?.kill();
    if (ctx.signal?.aborted) throw new EmulatorError('INTERRUPTED', 'interrupted during a cold boot', { cause: e });
    throw e;
  }
}
