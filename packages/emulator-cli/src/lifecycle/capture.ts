import { join } from 'node:path';
import { formatQemuVersion, migrationUri } from '@stack/qemu-argv';
import { cont, migrate, QmpCommandError, quit, setMigrationCapabilities, setMigrationParameters, stop } from '@stack/qmp-protocol';
import { type CompatibilityKey, createOverlay, SnapshotCache, type SnapshotEntry } from '@stack/snapshot-cache';
import { exec } from '@stack/qga-protocol';
import { encodeEnvLines, PLACEHOLDERS, ROTATE_HOOK } from '@stack/secret-rotation';
import { EmulatorError } from '../errors.js';
import { type BootContext, migrationSettings, vmProblem, vmSpec, writePhantoms } from './boot-context.js';
import { writeConfigDisk } from './config-disk.js';
import { waitForAgent } from './guest.js';
import { describeUnhealthy, waitHealthy } from './health.js';
import { loopbackRequest } from './loopback-http.js';
import { launchVm, type VmProcess } from './vm-process.js';

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
    await writePhantoms(ctx);
    await createOverlay(ctx.image.path, capture.diskPath, { signal: ctx.signal });
    const configIso = join(capture.dir, 'config.iso');
    await writeConfigDisk(configIso, key.configDisk, ctx.baseEnv.text);
    vm = await launchVm(vmSpec(ctx, { layout: 'snapshot', system: capture.diskPath, config: configIso }), { qemuLog: ctx.config.paths.qemuLog, signal: ctx.signal });
    const running = vm;
    const qga = await waitForAgent(ctx.config.paths.agentSocket, { timeoutMs: ctx.config.readyTimeoutMs, signal: ctx.signal, vmExited: () => vmProblem(ctx, running, { booting: true }) !== undefined, serialLog: ctx.config.paths.serialLog });
    try {
      step.update('capturing a snapshot: waiting for the services');
      const health = await waitHealthy(ctx.config.ports, { timeoutMs: ctx.config.readyTimeoutMs, signal: ctx.signal });
      if (!health.healthy) {
        throw new EmulatorError('CAPTURE_FAILED', `services not healthy within ${ctx.config.readyTimeoutMs / 1000} s during capture: ${describeUnhealthy(health.services)}`, { hint: `guest console: ${ctx.config.paths.serialLog}` });
      }
      // The services can be healthy while the rest of the boot still runs (the reference appliance starts
      // them with the first units). A snapshot taken then replays that work after every resume, beside
      // the rotation: resume-with-rotation went from 1.2 s to 2.2 s under TCG. Bounded: a unit that
      // never settles costs the capture a minute, not the capture itself.
      step.update('capturing a snapshot: waiting for the guest to finish booting');
      await exec(qga, { path: '/bin/sh', args: ['-c', 'timeout 60 systemctl is-system-running --wait >/dev/null 2>&1; true'], timeout: 90_000, signal: ctx.signal });
      // Warm the guest's side of every resume: one rotation (to the same placeholders, so the snapshot
      // still carries only public values) loads the hook, the service's code paths and the database's
      // caches into guest RAM, which the snapshot keeps. (QEMU's own translation cache is not kept.)
      // (rotateSecrets refuses placeholders by design, so the hook is run directly.)
      const warm = await exec(qga, { path: ROTATE_HOOK, input: encodeEnvLines(PLACEHOLDERS), timeout: 60_000, signal: ctx.signal });
      if (warm.exitCode !== 0) throw new EmulatorError('CAPTURE_FAILED', `${ROTATE_HOOK} failed during capture (exit ${warm.exitCode}): ${warm.stderr.toString('utf8').trim()}`);
      await loopbackRequest(ctx.config.ports.backend, '/api/v1/projects/current', { headers: { 'x-stack-project-id': 'internal', 'x-stack-publishable-client-key': PLACEHOLDERS.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY } });
    } finally {
      await qga.close();
    }
    step.update('capturing a snapshot: saving RAM');
    const { caps, params } = migrationSettings(key.format, ctx.cpus);
    await stop(vm.qmp, { signal: ctx.signal });
    try {
      try {
        if (Object.keys(caps).length > 0) await setMigrationCapabilities(vm.qmp, caps, { signal: ctx.signal });
        if (Object.keys(params).length > 0) await setMigrationParameters(vm.qmp, params, { signal: ctx.signal });
        await migrate(vm.qmp, migrationUri(ctx.host.probe.version, 'out', capture.statePath), { timeout: 600_000, signal: ctx.signal });
      } catch (e) {
        // QEMU refusing the capabilities or the URI is this host's QEMU, not the guest: remembered
        // (start.ts), so the next start does not pay a capture for it again.
        if (e instanceof QmpCommandError && /^migrate(-set-capabilities|-set-parameters)?$/.test(e.command)) {
          throw new EmulatorError('SNAPSHOT_UNSUPPORTED', `QEMU ${formatQemuVersion(ctx.host.probe.version)} cannot save a ${key.format} snapshot: ${e.message}`, { cause: e });
        }
        throw e;
      }
    } catch (e) {
      await cont(vm.qmp).catch(() => {});
      throw e;
    }
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
    if (e instanceof EmulatorError) throw e;
    throw new EmulatorError('CAPTURE_FAILED', `snapshot capture failed: ${(e as Error).message}`, { cause: e });
  }
}
