import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import type { QgaClient } from '@stack/qga-protocol';
import { PLACEHOLDERS, writeClientKeyFile } from '@stack/secret-rotation';
import { createOverlay, writeFileAtomic } from '@stack/snapshot-cache';
import { EmulatorError } from '../errors.js';
import { type BootContext, mark, vmProblem, vmSpec } from './boot-context.js';
import { runtimeEnv, writeConfigDisk } from './config-disk.js';
import { mountHostShare, rotate, waitForAgent } from './guest.js';
import { describeUnhealthy, waitHealthy } from './health.js';
import type { BootedVm } from './resume.js';
import { launchVm, type VmProcess } from './vm-process.js';

/**
 * A cold boot in the cold layout. The overlay is kept across cold starts of the same image (changes
 * persist), unless `fresh` (after a failed resume: never boot a disk whose state is unknown).
 * Secrets are rotated here too: a cold boot never runs on the public placeholders.
 */
export async function coldBoot(ctx: BootContext, options: { fresh: boolean }): Promise<BootedVm> {
  const p = ctx.config.paths;
  let vm: VmProcess | undefined;
  let qga: QgaClient | undefined;
  try {
    const meta = JSON.parse(await readFile(p.overlayMeta, 'utf8').catch(() => '{}')) as { mode?: string; imageDigest?: string };
    const reuse = !options.fresh && existsSync(p.overlay) && meta.mode === 'cold' && meta.imageDigest === ctx.image.digest;
    if (!reuse) {
      await rm(p.overlayMeta, { force: true });
      await createOverlay(ctx.image.path, p.overlay, { signal: ctx.signal });
      await writeFileAtomic(p.overlayMeta, `${JSON.stringify({ mode: 'cold', imageDigest: ctx.image.digest, image: ctx.image.path })}\n`);
    }
    ctx.reporter.info(reuse ? 'reusing the disk of the last cold boot (changes persist)' : 'fresh disk on the image');
    await writeConfigDisk(p.configIso, runtimeEnv(ctx.config, p.vm), ctx.baseEnv.text);
    mark(ctx, 'prepared');
    vm = await launchVm(vmSpec(ctx, { layout: 'cold', system: p.overlay, config: p.configIso, hostShare: ctx.hostShare }), { qemuLog: p.qemuLog, signal: ctx.signal });
    mark(ctx, 'qemuLaunched');
    const running = vm;
    qga = await waitForAgent(p.agentSocket, { timeoutMs: ctx.config.readyTimeoutMs, signal: ctx.signal, vmExited: () => vmProblem(ctx, running, { booting: true }) !== undefined, serialLog: ctx.config.paths.serialLog });
    mark(ctx, 'agentReady');
    if (ctx.hostShare) {
      await mountHostShare(qga, ctx.hostShare, ctx.signal);
      mark(ctx, 'shareMounted');
    }
    // The rotation hook talks to the services: wait for them first, then rotate and check again.
    const first = await waitHealthy(ctx.config.ports, { timeoutMs: ctx.config.readyTimeoutMs, signal: ctx.signal });
    if (!first.healthy) {
      throw new EmulatorError('NOT_HEALTHY', `services not healthy within ${ctx.config.readyTimeoutMs / 1000} s of a cold boot: ${describeUnhealthy(first.services)}`, { hint: `guest console: ${p.serialLog}` });
    }
    if (ctx.config.rotation) {
      await rotate(qga, p.internalPck, ctx.signal);
      mark(ctx, 'rotated');
    } else {
      await writeClientKeyFile(p.internalPck, PLACEHOLDERS.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY);
    }
    await qga.close();
    const after = await waitHealthy(ctx.config.ports, { timeoutMs: ctx.config.snapshotReadyTimeoutMs, signal: ctx.signal });
    if (!after.healthy) throw new EmulatorError('NOT_HEALTHY', 'services stopped answering after the secret rotation');
    mark(ctx, 'healthy');
    return { vm, rotated: ctx.config.rotation };
  } catch (e) {
    await qga?.close().catch(() => {});
    const problem = vm ? vmProblem(ctx, vm) : undefined;
    await vm?.kill();
    if (ctx.signal?.aborted) throw new EmulatorError('INTERRUPTED', 'interrupted during a cold boot', { cause: e });
    if (problem && e instanceof EmulatorError && e.code === 'GUEST_FAILED') throw new EmulatorError('QEMU_FAILED', problem, { cause: e });
    throw e;
  }
}
