import { join } from 'node:path';
import { ramFileFailureReason } from '@stack/qemu-argv';
import { quit } from '@stack/qmp-protocol';
import { type CompatibilityKey, SnapshotCache, type SnapshotEntry } from '@stack/snapshot-cache';
import { exec } from '@stack/qga-protocol';
import { encodeEnvLines, PLACEHOLDERS, ROTATE_HOOK } from '@stack/secret-rotation';
import { EmulatorError } from '../errors.js';
import type { BootContext } from './boot-context.js';
import { describeUnhealthy, waitHealthy } from '../guest/health.js';
import { loopbackRequest } from '../guest/loopback-http.js';
import { launchGuest } from '../vm/launch.js';
import { saveRam } from '../vm/save-ram.js';
import type { VmProcess } from '../vm/vm-process.js';

/**
 * Captures a golden snapshot: a cold boot of the image in the snapshot layout on a fresh overlay (no
 * host share, placeholder secrets, agent running), healthy, paused, migrated to a file, and committed
 * with the overlay frozen beside the RAM state. Nothing is visible to lookups until the commit.
 */
export async function captureSnapshot(ctx: BootContext, key: CompatibilityKey): Promise<SnapshotEntry> {
  const cache = new SnapshotCache(ctx.config.paths.snapshots);
  const capture = await cache.beginCapture(key);
  let vm: VmProcess | undefined;
  const step = ctx.reporter.step('capturing a snapshot: cold boot in the snapshot layout');
  try {
    await capture.createDisk(ctx.image.path, { signal: ctx.signal });
    // No shares: QEMU cannot migrate a guest with 9p mounted.
    const launched = await launchGuest(ctx, {
      layout: 'snapshot',
      disk: capture.diskPath,
      configIso: join(capture.dir, 'config.iso'),
      configValues: key.configDisk,
      shares: [],
      agentTimeoutMs: ctx.config.readyTimeoutMs,
      // A template: the guest's RAM is written through to the file the snapshot keeps.
      ...(key.format === 'template-ram' ? { memoryFile: { path: capture.ramPath, mode: 'shared' as const } } : {}),
    });
    vm = launched.vm;
    const { qga } = launched;
    try {
      step.update('capturing a snapshot: waiting for the services');
      await healthyOrFail(ctx, 'during capture');
      // The services can be healthy while the rest of the boot still runs (the reference appliance starts
      // them with the first units). A snapshot taken then replays that work after every resume, beside
      // the rotation: resume-with-rotation went from 1.2 s to 2.2 s under TCG. Bounded: a unit that
      // never settles costs the capture a minute, not the capture itself.
      step.update('capturing a snapshot: waiting for the guest to finish booting');
      await exec(qga, {
        path: '/bin/sh',
        args: ['-c', 'timeout 60 systemctl is-system-running --wait >/dev/null 2>&1; true'],
        timeout: 90_000,
        signal: ctx.signal,
      });
      // Warm the guest's side of every resume: one rotation (to the same placeholders, so the snapshot
      // still carries only public values) loads the hook, the service's code paths and the database's
      // caches into guest RAM, which the snapshot keeps. (QEMU's own translation cache is not kept.)
      // (rotateSecrets refuses placeholders by design, so the hook is run directly.)
      const warm = await exec(qga, {
        path: ROTATE_HOOK,
        input: encodeEnvLines(PLACEHOLDERS),
        timeout: ctx.config.readyTimeoutMs,
        signal: ctx.signal,
      });
      if (warm.exitCode !== 0)
        throw new EmulatorError(
          'CAPTURE_FAILED',
          `${ROTATE_HOOK} failed during capture (exit ${warm.exitCode}): ${warm.stderr.toString('utf8').trim()}`,
        );
      // The Stack image's hook restarts its Node services: a snapshot taken right after would catch
      // them mid-restart, and every resume would finish that restart. Healthy again first.
      step.update('capturing a snapshot: waiting for the services after the warm-up rotation');
      await healthyOrFail(ctx, 'after the warm-up rotation');
      await loopbackRequest(ctx.config.ports.backend, '/api/v1/projects/current', {
        headers: {
          'x-stack-project-id': 'internal',
          'x-stack-publishable-client-key': PLACEHOLDERS.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY,
        },
      });
    } finally {
      await qga.close();
    }
    step.update('capturing a snapshot: saving RAM');
    await saveRam(vm.qmp, {
      path: capture.statePath,
      format: key.format,
      version: ctx.host.probe.version,
      signal: ctx.signal,
    });
    await quit(vm.qmp).catch(() => {});
    await Promise.race([vm.exited, new Promise((r) => setTimeout(r, 10_000))]);
    await vm.kill();
    step.update('capturing a snapshot: verifying and compressing');
    const entry = await capture.commit({ keepDisk: true, signal: ctx.signal });
    step.succeed('snapshot captured');
    return entry;
  } catch (e) {
    step.fail('snapshot capture failed');
    await vm?.kill();
    await capture.abort();
    if (ctx.signal?.aborted) throw new EmulatorError('INTERRUPTED', 'interrupted during capture', { cause: e });
    // A QEMU that cannot keep guest RAM in a file here (a filesystem without shared mappings, a build
    // without file-backed memory) is the host's: remembered, so the next start captures another format.
    const ramFile =
      e instanceof EmulatorError && e.code === 'QEMU_FAILED' ? ramFileFailureReason(e.message) : undefined;
    if (key.format === 'template-ram' && ramFile)
      throw new EmulatorError('SNAPSHOT_UNSUPPORTED', `QEMU cannot keep guest RAM in a file here: ${ramFile}`, {
        cause: e,
      });
    if (e instanceof EmulatorError) throw e;
    throw new EmulatorError('CAPTURE_FAILED', `snapshot capture failed: ${(e as Error).message}`, { cause: e });
  }
}

async function healthyOrFail(ctx: BootContext, when: string): Promise<void> {
  const health = await waitHealthy(ctx.config.ports, { timeoutMs: ctx.config.readyTimeoutMs, signal: ctx.signal });
  if (!health.healthy) {
    throw new EmulatorError(
      'CAPTURE_FAILED',
      `services not healthy within ${ctx.config.readyTimeoutMs / 1000} s ${when}: ${describeUnhealthy(health.services)}`,
      { hint: `guest console: ${ctx.config.paths.serialLog}` },
    );
  }
}
