import { join } from 'node:path';
import { ramFileFailureReason } from '@stack/qemu-argv';
import { migrationUri } from '@stack/qemu-argv';
import { type CompatibilityKey, SnapshotCache, type SnapshotEntry } from '@stack/snapshot-cache';
import { encodeEnvLines, PLACEHOLDERS, ROTATE_HOOK } from '@stack/secret-rotation';
import { EmulatorError } from '../errors.js';
import { CLOCK_FIFO } from '../guest/guest-clock.js';
import { describeUnhealthy } from '../guest/health.js';
import { rememberClockDaemon } from '../image/clock-daemon.js';
import { retargetGuest } from '../guest/retarget.js';
import {
  NEUTRAL_PORTS,
  portsOfConfigDisk,
  rememberPortVerdict,
  retargetInput,
  RETARGETS_PORTS_MARKER,
  samePorts,
} from '../image/port-retargeting.js';
import { roomFor } from '../host/free-space.js';
import type { Vm } from '../seams/vm.js';
import { launchGuest } from '../vm/launch.js';
import { migrationSettings } from '../vm/migration-settings.js';
import { type BootEnv, mark } from './boot-env.js';

/**
 * Captures a golden snapshot: a cold boot of the image in the snapshot layout on a fresh overlay (no
 * host share, placeholder secrets, agent running), healthy, paused, migrated to a file, and committed
 * with the overlay frozen beside the RAM state. Nothing is visible to lookups until the commit.
 */
export async function captureSnapshot(
  env: BootEnv,
  key: CompatibilityKey,
  onLaunched: (vm: Vm) => Promise<void>,
): Promise<SnapshotEntry> {
  const { op } = env;
  const cache = new SnapshotCache(op.config.paths.snapshots);
  if (key.format === 'template-ram') {
    // The guest writes its RAM straight into the template's file: on a file system that fills up, a
    // write into a hole is SIGBUS and QEMU dies mid-boot. So the whole RAM must fit first.
    const bytes = op.config.memoryMiB * 1024 * 1024;
    const { fits, free } = await roomFor(op.seams.disk, op.config.paths.home, bytes);
    if (!fits)
      throw Object.assign(
        new Error(
          `capturing a template snapshot needs room for the guest's whole RAM (${(bytes / 1e9).toFixed(1)} GB and some headroom) in ${op.config.paths.snapshots}; ${((free ?? 0) / 1e9).toFixed(1)} GB are free`,
        ),
        { code: 'ENOSPC' },
      );
  }
  const capture = await cache.beginCapture(key);
  let vm: Vm | undefined;
  let storeAs: CompatibilityKey | undefined;
  const step = op.reporter.step('capturing a snapshot: cold boot in the snapshot layout');
  try {
    await capture.createDisk(env.image.path, { signal: op.signal });
    // No shares: QEMU cannot migrate a guest with 9p mounted.
    const launched = await launchGuest(env, {
      layout: 'snapshot',
      disk: capture.diskPath,
      configIso: join(capture.dir, 'config.iso'),
      configValues: key.configDisk,
      shares: [],
      agentTimeoutMs: op.config.readyTimeoutMs,
      onLaunched,
      // A template: the guest's RAM is written through to the file the snapshot keeps.
      ...(key.format === 'template-ram' ? { memoryFile: { path: capture.ramPath, mode: 'shared' as const } } : {}),
    });
    vm = launched.vm;
    const { agent } = launched;
    try {
      step.update('capturing a snapshot: waiting for the services');
      await healthyOrFail(env, 'during capture');
      // The services can be healthy while the rest of the boot still runs (the reference appliance starts
      // them with the first units). A snapshot taken then replays that work after every resume, beside
      // the rotation: resume-with-rotation went from 1.2 s to 2.2 s under TCG. Bounded: a unit that
      // never settles costs the capture a minute, not the capture itself.
      step.update('capturing a snapshot: waiting for the guest to finish booting');
      await agent.run({
        path: '/bin/sh',
        args: ['-c', 'timeout 60 systemctl is-system-running --wait >/dev/null 2>&1; true'],
        timeout: 90_000,
        signal: op.signal,
      });
      // Whether this image's guest can be told other host ports when it resumes: remembered for the
      // image, it decides whether its snapshot keys hold the ports (image/port-retargeting.ts).
      const retargets = await agent.hasFile(RETARGETS_PORTS_MARKER, op.signal ? { signal: op.signal } : {});
      await rememberPortVerdict(op.config, env.image.digest, retargets);
      // And whether it has the clock daemon: its resumes then try it, or go straight to `date`.
      const clockDaemon = await agent.hasFile(CLOCK_FIFO, op.signal ? { signal: op.signal } : {});
      await rememberClockDaemon(op.config, env.image.digest, clockDaemon).catch(() => {});
      if (retargets && !samePorts(portsOfConfigDisk(key.configDisk), NEUTRAL_PORTS)) {
        // Its image was not known yet, so it booted on this start's ports: told the neutral ones now,
        // its snapshot is the one every instance shares (stored under their key).
        step.update('capturing a snapshot: telling the guest the default host ports');
        const neutral = retargetInput(NEUTRAL_PORTS);
        await retargetGuest(agent, neutral, {
          timeoutMs: op.config.readyTimeoutMs,
          ...(op.signal ? { signal: op.signal } : {}),
          serialLog: op.config.paths.serialLog,
        });
        storeAs = { ...key, configDisk: { ...key.configDisk, ...neutral } };
      }
      // Warm the guest's side of every resume: one rotation (to the same placeholders, so the snapshot
      // still carries only public values) loads the hook, the service's code paths and the database's
      // caches into guest RAM, which the snapshot keeps. (QEMU's own translation cache is not kept.)
      // (rotateSecrets refuses placeholders by design, so the hook is run directly.)
      const warm = await agent.run({
        path: ROTATE_HOOK,
        input: encodeEnvLines(PLACEHOLDERS),
        timeout: op.config.readyTimeoutMs,
        signal: op.signal,
      });
      if (warm.exitCode !== 0)
        throw new EmulatorError(
          'CAPTURE_FAILED',
          `${ROTATE_HOOK} failed during capture (exit ${warm.exitCode}): ${warm.stderr.toString('utf8').trim()}`,
        );
      // The Stack image's hook restarts its Node services: a snapshot taken right after would catch
      // them mid-restart, and every resume would finish that restart. Healthy again first.
      step.update('capturing a snapshot: waiting for the services after the warm-up rotation');
      await healthyOrFail(env, 'after the warm-up rotation');
      await op.seams.services.request(op.config.ports.backend, '/api/v1/projects/current', {
        headers: {
          'x-stack-project-id': 'internal',
          'x-stack-publishable-client-key': PLACEHOLDERS.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY,
        },
      });
    } finally {
      await agent.close();
    }
    step.update('capturing a snapshot: saving RAM');
    await vm.control.saveState(
      migrationUri(env.host.probe.version, 'out', capture.statePath),
      migrationSettings(key.format),
      { format: key.format, ...(op.signal ? { signal: op.signal } : {}) },
    );
    mark(env, 'stateSaved');
    await vm.control.quit().catch(() => {});
    await Promise.race([vm.exited, op.seams.clock.sleep(10_000).catch(() => {})]);
    await vm.kill();
    step.update('capturing a snapshot: verifying and compressing');
    const entry = await capture.commit({ keepDisk: true, signal: op.signal, ...(storeAs ? { key: storeAs } : {}) });
    step.succeed('snapshot captured');
    return entry;
  } catch (e) {
    step.fail('snapshot capture failed');
    await vm?.kill();
    await capture.abort();
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

async function healthyOrFail(env: BootEnv, when: string): Promise<void> {
  const { config, signal, seams } = env.op;
  const health = await seams.services.waitHealthy(config.ports, { timeoutMs: config.readyTimeoutMs, signal });
  if (!health.healthy) {
    throw new EmulatorError(
      'CAPTURE_FAILED',
      `services not healthy within ${config.readyTimeoutMs / 1000} s ${when}: ${describeUnhealthy(health.services)}`,
      { hint: `guest console: ${config.paths.serialLog}` },
    );
  }
}
