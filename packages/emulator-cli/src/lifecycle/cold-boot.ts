import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { exec, type QgaClient } from '@stack/qga-protocol';
import { PLACEHOLDERS } from '@stack/secret-rotation';
import { createOverlay, writeFileAtomic } from '@stack/snapshot-cache';
import { EmulatorError } from '../errors.js';
import type { BootContext } from './boot-context.js';
import { runtimeEnv } from './config-disk.js';
import { launchGuest } from './launch.js';
import type { BootedVm } from './resume.js';
import { settleGuest, type SettlePlan } from './settle.js';
import type { VmProcess } from './vm-process.js';

/**
 * Guest contract marker: an image whose rotation hook can replace any current value (not only its
 * placeholders) says so with this file. The original's hook swaps the placeholder key in its built
 * JavaScript: run a second time, it finds nothing to replace and the app keeps the old key.
 */
export const ROTATES_ANY_VALUE_MARKER = '/etc/stack-emulator/rotates-from-any-value';

async function guestHas(qga: QgaClient, path: string, signal?: AbortSignal): Promise<boolean> {
  const r = await exec(qga, { path: '/bin/sh', args: ['-c', 'test -e "$1"', 'test', path], timeout: 20_000, signal }).catch(() => undefined);
  return r?.exitCode === 0;
}

/** The client key published by the last start on this disk (kept after stop, as the original keeps it). */
async function lastKey(path: string): Promise<string | undefined> {
  const k = (await readFile(path, 'utf8').catch(() => '')).trim();
  return /^[0-9a-f]{64}$/.test(k) ? k : undefined;
}

/**
 * A cold boot in the cold layout. The overlay is kept across cold starts of the same image (changes
 * persist), unless `fresh` (after a failed resume: never boot a disk whose state is unknown). The
 * guest never publishes into a host directory (STACK_EMULATOR_VM_DIR_HOST stays empty: none is shared);
 * the CLI publishes the key. Secrets: a fresh disk holds the placeholders and is rotated; a disk a
 * rotated start used before is rotated again only by an image that says it can (the marker), else it
 * keeps the secrets it has, and their key is published again. Never the public placeholders, unless
 * rotation is turned off.
 */
export async function coldBoot(ctx: BootContext, options: { fresh: boolean }): Promise<BootedVm> {
  const p = ctx.config.paths;
  let vm: VmProcess | undefined;
  try {
    const meta = JSON.parse(await readFile(p.overlayMeta, 'utf8').catch(() => '{}')) as { mode?: string; imageDigest?: string };
    const reuse = !options.fresh && existsSync(p.overlay) && meta.mode === 'cold' && meta.imageDigest === ctx.image.digest;
    if (!reuse) {
      await rm(p.overlayMeta, { force: true });
      await createOverlay(ctx.image.path, p.overlay, { signal: ctx.signal });
      await writeFileAtomic(p.overlayMeta, `${JSON.stringify({ mode: 'cold', imageDigest: ctx.image.digest, image: ctx.image.path })}\n`);
    }
    ctx.reporter.info(reuse ? 'reusing the disk of the last cold boot (changes persist)' : 'fresh disk on the image');
    const previous = reuse ? await lastKey(p.internalPck) : undefined;
    const launched = await launchGuest(ctx, {
      layout: 'cold', disk: p.overlay, configIso: p.configIso, configValues: runtimeEnv(ctx.config, ''), shares: ctx.shares, agentTimeoutMs: ctx.config.readyTimeoutMs,
    });
    vm = launched.vm;
    let secrets: SettlePlan['secrets'] = ctx.config.rotation ? 'rotate' : 'placeholders';
    if (ctx.config.rotation && previous && previous !== PLACEHOLDERS.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY && !(await guestHas(launched.qga, ROTATES_ANY_VALUE_MARKER, ctx.signal))) {
      ctx.reporter.info('keeping the secrets of the last start on this disk (this image rotates only from its placeholders)');
      secrets = 'keep';
    }
    // A cold boot's rotation restarts services that are only just up: the cold-boot limits, not the resume's.
    const state = await settleGuest(ctx, launched, {
      syncClock: false, secrets, keptKey: previous, healthyFirstMs: ctx.config.readyTimeoutMs, rotationTimeoutMs: ctx.config.readyTimeoutMs, healthTimeoutMs: ctx.config.readyTimeoutMs,
    });
    return { vm, secrets: state };
  } catch (e) {
    await vm?.kill();
    if (ctx.signal?.aborted) throw new EmulatorError('INTERRUPTED', 'interrupted during a cold boot', { cause: e });
    throw e;
  }
}
