import { SnapshotCache, type SnapshotEntry } from '@stack/snapshot-cache';
import { EmulatorError } from '../errors.js';
import { learnPortVerdict } from '../guest/retarget.js';
import { secretsFor } from '../guest/secrets.js';
import { type SecretsState, settleGuest } from '../guest/settle.js';
import { portsOfConfigDisk, portsOfRecord, retargetFor } from '../image/port-retargeting.js';
import type { Session } from '../session/session.js';
import type { Vm } from '../seams/vm.js';
import { launchGuest } from '../vm/launch.js';
import type { BootEnv } from './boot-env.js';
import type { Launching, OnLaunched } from './booted.js';

export interface GoldenTarget {
  /** The disk the VM writes: a new session's (already an overlay on the frozen disk), or made now. */
  disk: string;
  /** Make `disk` a fresh overlay on the snapshot's frozen disk first (ephemeral). */
  fresh: boolean;
  /** The image and boot files QEMU runs. @default the start's */
  target?: Pick<BootEnv, 'image' | 'boot'>;
  /**
   * A template's RAM for this VM alone (a session's): the file at `path`, which `make` writes (beside
   * the launch's other files); the VM maps it shared. @default the template itself, mapped privately
   */
  ownMemory?: { path: string; make: () => Promise<unknown> };
  shares: readonly string[];
  launching: Launching;
}

/**
 * Resumes a golden snapshot: its verified state file, on the target disk, and then the shares, fresh
 * secrets (its guest holds the placeholders) and the health probes (never probed before `cont`: a
 * SYN sent to a paused guest is lost and costs a 1 s retransmit). QEMU is killed when it fails.
 */
export async function resumeGolden(
  env: BootEnv,
  entry: SnapshotEntry,
  t: GoldenTarget,
  onLaunched: OnLaunched,
): Promise<{ vm: Vm; secrets: SecretsState }> {
  const { config, signal } = env.op;
  const raw = await new SnapshotCache(config.paths.snapshots).prepareResume(entry, { signal });
  if (!entry.diskPath) throw new EmulatorError('SNAPSHOT_FAILED', `snapshot ${entry.id} has no frozen disk`);
  const template = entry.meta.key.format === 'template-ram';
  if (template && !entry.ramPath)
    throw new EmulatorError('SNAPSHOT_FAILED', `template snapshot ${entry.id} has no RAM file`);
  const memoryFile = !template
    ? undefined
    : t.ownMemory
      ? { path: t.ownMemory.path, mode: 'shared' as const }
      : { path: entry.ramPath!, mode: 'private' as const };
  const launched = await launchGuest(env, {
    layout: 'snapshot',
    disk: t.disk,
    ...(t.fresh ? { newOverlayOn: entry.diskPath } : {}),
    ...(t.target ? { boot: t.target.boot } : {}),
    configIso: config.paths.configIso,
    configValues: entry.meta.key.configDisk,
    incoming: { path: raw, format: entry.meta.key.format },
    // Either way pages load on first touch; mapped privately, the template is never written.
    ...(memoryFile ? { memoryFile } : {}),
    ...(t.ownMemory ? { prepareMemory: t.ownMemory.make } : {}),
    shares: t.shares,
    agentTimeoutMs: 30_000,
    onLaunched: (vm) => onLaunched(vm, t.launching),
  });
  try {
    await learnPortVerdict(env, launched.agent);
    // Its guest holds the ports of its key's config disk (the neutral ones, for an image that retargets).
    const retarget = retargetFor(env.portVerdict, portsOfConfigDisk(entry.meta.key.configDisk), config.ports);
    const secrets = await settleGuest(env, launched, {
      syncClock: true,
      ...(retarget ? { retarget } : {}),
      secrets: config.rotation ? 'rotate' : 'placeholders',
      rotationTimeoutMs: 60_000,
      healthTimeoutMs: config.snapshotReadyTimeoutMs,
      shares: t.shares,
    });
    return { vm: launched.vm, secrets };
  } catch (e) {
    await launched.vm.kill();
    throw e;
  }
}

/**
 * Resumes the saved session: its RAM state is loaded against the session's disk, with the share
 * devices it had, and consumed right before the guest runs (from then on the disk moves on); a
 * failure or a kill before that leaves it where it was. The session keeps its secrets (the key handed out before stays valid)
 * unless `--rotate`. QEMU is killed when it fails.
 */
export async function resumeSession(
  env: BootEnv,
  s: Session,
  shares: readonly string[],
  launching: Launching,
  onLaunched: OnLaunched,
): Promise<{ vm: Vm; secrets: SecretsState }> {
  const { config } = env.op;
  const ram = s.meta.ram;
  if (!ram) throw new EmulatorError('SNAPSHOT_FAILED', 'the session has no saved RAM state');
  const lease = await s.store.leaseRam();
  let launched: Awaited<ReturnType<typeof launchGuest>> | undefined;
  try {
    launched = await launchGuest(env, {
      layout: 'snapshot',
      disk: s.store.disk,
      configIso: config.paths.configIso,
      configValues: ram.key.configDisk,
      incoming: { path: lease.path, format: ram.key.format },
      // The session's own RAM file, as its VM left it when it saved the device state.
      ...(ram.memory ? { memoryFile: { path: s.store.memoryPath, mode: 'shared' as const } } : {}),
      shares,
      pluggedShares: ram.plugged.length,
      agentTimeoutMs: 30_000,
      onLaunched: (vm) => onLaunched(vm, launching),
      onLoaded: () => lease.consume(),
    });
    await learnPortVerdict(env, launched.agent);
    const secrets = await secretsFor(env, launched.agent, s.meta.clientKey);
    // The ports its guest was last told (a session saved before they were recorded: its key's).
    const retarget = retargetFor(
      env.portVerdict,
      portsOfRecord(s.meta.guestPorts) ?? portsOfConfigDisk(ram.key.configDisk),
      config.ports,
    );
    const state = await settleGuest(env, launched, {
      syncClock: true,
      ...secrets,
      // A hook may restart the services, and an image that resets its secrets then (the Stack
      // image's container starts on its placeholders) gets the session's key put back.
      ...(retarget ? { retarget, verifyKept: true } : {}),
      rotationTimeoutMs: 60_000,
      healthTimeoutMs: config.snapshotReadyTimeoutMs,
      shares,
    });
    return { vm: launched.vm, secrets: state };
  } catch (e) {
    await launched?.vm.kill();
    throw e;
  } finally {
    // Not consumed (a Ctrl-C, a spawn failure, a refused load before the guest ran): the saved state
    // stays as it was. Consumed: its file goes.
    await lease.release().catch(() => {});
  }
}
