import type { QgaClient } from '@stack/qga-protocol';
import { migrationUri } from '@stack/qemu-argv';
import { cont, migrateIncoming, queryStatus, setMigrationCapabilities, setMigrationParameters } from '@stack/qmp-protocol';
import { PLACEHOLDERS, writeClientKeyFile } from '@stack/secret-rotation';
import { createOverlay, SnapshotCache, type SnapshotEntry } from '@stack/snapshot-cache';
import { EmulatorError } from '../errors.js';
import { type BootContext, mark, migrationSettings, vmProblem, vmSpec, writePhantoms } from './boot-context.js';
import { writeConfigDisk } from './config-disk.js';
import { hotplugHostShare, mountHostShare, rotate, syncGuestClock, waitForAgent } from './guest.js';
import { describeUnhealthy, waitHealthy } from './health.js';
import { launchVm, type VmProcess } from './vm-process.js';

/**
 * Timeouts (agent, health, QMP or agent calls) can come from a host under load rather than from a
 * broken snapshot; corrupt files and errors QEMU or the guest report cannot.
 */
export function isTimeout(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 6; cur = cur.cause, depth++) {
    if (cur.name.endsWith('TimeoutError')) return true;
    if (cur instanceof EmulatorError && (cur.code === 'NOT_HEALTHY' || cur.transient)) return true;
  }
  return false;
}

export interface BootedVm {
  vm: VmProcess;
  rotated: boolean;
}

/**
 * Resumes a snapshot: verified state file, fresh overlay on its frozen disk, QEMU with
 * `-incoming defer`, migrate-incoming, cont, agent sync, guest clock, host share, rotation, and only
 * then the health probes (a SYN sent to a paused guest is lost and costs a 1 s retransmit).
 * Any failure throws `SNAPSHOT_FAILED` (after killing QEMU) so the caller can fall back.
 */
export async function resumeSnapshot(ctx: BootContext, entry: SnapshotEntry): Promise<BootedVm> {
  const p = ctx.config.paths;
  let vm: VmProcess | undefined;
  let qga: QgaClient | undefined;
  let warm: AbortController | undefined;
  let warming: Promise<unknown> | undefined;
  try {
    const raw = await new SnapshotCache(p.snapshots).prepareResume(entry, { signal: ctx.signal });
    if (!entry.diskPath) throw new EmulatorError('SNAPSHOT_FAILED', `snapshot ${entry.id} has no frozen disk`);
    await writePhantoms(ctx);
    await createOverlay(entry.diskPath, p.overlay, { signal: ctx.signal });
    await writeConfigDisk(p.configIso, entry.meta.key.configDisk, ctx.baseEnv.text);
    mark(ctx, 'prepared');
    vm = await launchVm(vmSpec(ctx, { layout: 'snapshot', system: p.overlay, config: p.configIso, incoming: true, hostShare: ctx.hostShare }), { qemuLog: p.qemuLog, signal: ctx.signal });
    mark(ctx, 'qemuLaunched');
    const { caps, params } = migrationSettings(entry.meta.key.format, ctx.cpus);
    if (Object.keys(caps).length > 0) await setMigrationCapabilities(vm.qmp, caps, { signal: ctx.signal });
    if (Object.keys(params).length > 0) await setMigrationParameters(vm.qmp, params, { signal: ctx.signal });
    await migrateIncoming(vm.qmp, migrationUri(ctx.host.probe.version, 'in', raw), { timeout: 60_000, signal: ctx.signal, pollInterval: 10 });
    if (!(await queryStatus(vm.qmp, { signal: ctx.signal })).running) await cont(vm.qmp, { signal: ctx.signal });
    mark(ctx, 'running');
    const running = vm;
    qga = await waitForAgent(p.agentSocket, { timeoutMs: 30_000, signal: ctx.signal, vmExited: () => vmProblem(ctx, running) !== undefined, serialLog: ctx.config.paths.serialLog });
    mark(ctx, 'agentReady');
    // The clock is set while the rest goes on: the agent serialises its commands, so `date` is
    // spawned first, and it runs in the guest beside the share mount and the rotation hook
    // instead of costing its own 0.25-0.35 s round trip (TCG) before them.
    const clockDone = syncGuestClock(qga, ctx.signal).then((warning) => {
      if (warning) ctx.reporter.warn(warning);
      mark(ctx, 'clockSet');
    });
    clockDone.catch(() => {}); // awaited below; an abort rejects it while another step also fails
    if (ctx.hostShare) {
      await hotplugHostShare(vm.qmp, ctx.signal);
      await mountHostShare(qga, ctx.hostShare, ctx.signal);
      mark(ctx, 'shareMounted');
    }
    // The first guest work after a resume pays for TCG retranslating kernel and service code; probing
    // the services while the rotation runs overlaps that cost (measured: 1.6 s -> 1.4 s; started any
    // earlier, the probes slow the agent down instead). The verdict comes from the probes after it.
    warm = new AbortController();
    warming = waitHealthy(ctx.config.ports, { timeoutMs: ctx.config.snapshotReadyTimeoutMs, signal: warm.signal }).catch(() => undefined);
    try {
      if (ctx.config.rotation) {
        await rotate(qga, p.internalPck, ctx.signal);
        mark(ctx, 'rotated');
      } else {
        await writeClientKeyFile(p.internalPck, PLACEHOLDERS.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY);
      }
    } finally {
      warm.abort();
      await warming;
    }
    await clockDone;
    await qga.close();
    const health = await waitHealthy(ctx.config.ports, { timeoutMs: ctx.config.snapshotReadyTimeoutMs, signal: ctx.signal });
    if (!health.healthy) {
      throw new EmulatorError('NOT_HEALTHY', `services not healthy within ${ctx.config.snapshotReadyTimeoutMs / 1000} s after resume: ${describeUnhealthy(health.services)}`);
    }
    mark(ctx, 'healthy');
    return { vm, rotated: ctx.config.rotation };
  } catch (e) {
    warm?.abort();
    await warming;
    await qga?.close().catch(() => {});
    await vm?.kill();
    if (ctx.signal?.aborted) throw new EmulatorError('INTERRUPTED', 'interrupted during resume', { cause: e });
    // The share is the host's business, not the snapshot's: never a reason to quarantine it.
    if (e instanceof EmulatorError && e.code === 'HOST_SHARE_FAILED') throw e;
    throw new EmulatorError('SNAPSHOT_FAILED', (e as Error).message, { cause: e, transient: isTimeout(e) });
  }
}
