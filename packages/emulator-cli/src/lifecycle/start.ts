import { formatQemuVersion } from '@stack/qemu-argv';
import { SnapshotCache } from '@stack/snapshot-cache';
import { type EmulatorConfig, vcpuCount } from '../config/resolve-config.js';
import { EmulatorError } from '../errors.js';
import type { Reporter } from '../ui/reporter.js';
import { rememberUnusable } from './accel.js';
import { accelFailure, type BootContext, compatibilityKey, mark } from './boot-context.js';
import { captureSnapshot } from './capture.js';
import { coldBoot } from './cold-boot.js';
import { prepareBoot } from './prepare.js';
import { type BootedVm, resumeSnapshot } from './resume.js';
import { cleanupRunFiles, lockInstance, runningInstance } from './instance.js';
import { rememberRefusedFormat } from './snapshot-support.js';
import { type InstanceState, type StartMode, writeState } from './state.js';

export interface StartResult {
  /** True when an instance was already running: nothing was touched. */
  alreadyRunning: boolean;
  state: InstanceState;
}

/**
 * The flow of `start` (ARCHITECTURE.md): lock, host probe, ports, image, snapshot lookup, capture when
 * missing, resume, and on any snapshot failure: quarantine, cold boot, rotation all the same.
 */
export async function startEmulator(config: EmulatorConfig, options: { reporter: Reporter; signal?: AbortSignal; t0?: number }): Promise<StartResult> {
  const t0 = options.t0 ?? Date.now();
  const { reporter, signal } = options;
  const lock = await lockInstance(config, 'start');
  try {
    const existing = await runningInstance(config);
    if (existing) return { alreadyRunning: true, state: existing };
    await cleanupRunFiles(config);
    const ctx = await prepareBoot(config, { reporter, signal, t0 });
    const host = ctx.host;
    const image = ctx.image;

    for (;;) {
      try {
        const booted = await boot(ctx);
        const state: InstanceState = {
          version: 1, pid: booted.vm.pid, pidStartTime: booted.vm.pidStartTime, arch: config.arch,
          accel: ctx.accel, accelReason: ctx.host.reason, boot: ctx.boot.kernel ? 'direct-kernel' : ctx.boot.firmware ? 'firmware' : 'bios', mode: booted.mode,
          qemuVersion: formatQemuVersion(ctx.host.probe.version),
          ...(booted.snapshotFormat ? { snapshotFormat: booted.snapshotFormat } : {}),
          ...(booted.coldReason ? { coldReason: booted.coldReason } : {}),
          ...(booted.snapshotId ? { snapshotId: booted.snapshotId } : {}),
          image: image.path, ports: config.ports, portPrefix: config.portPrefix,
          ...(ctx.shares.length ? { shares: ctx.shares } : {}),
          ...(config.configFile ? { configFile: config.configFile } : {}),
          rotated: booted.secrets === 'fresh', secrets: booted.secrets, startedAt: new Date(t0).toISOString(), timings: ctx.timings,
        };
        try {
          signal?.throwIfAborted();
          await writeState(config.paths.state, state);
        } catch (e) {
          // Without its state file nothing could find or stop this VM: never leave it running.
          await booted.vm.kill();
          throw signal?.aborted ? new EmulatorError('INTERRUPTED', 'interrupted', { cause: e }) : e;
        }
        await booted.vm.qmp.close();
        booted.vm.detach();
        return { alreadyRunning: false, state };
      } catch (e) {
        // A hardware accelerator that exists but cannot run this guest shows up at the first boot.
        const why = accelFailure(ctx);
        if (!why) throw e;
        await rememberUnusable(config, host.probe, ctx.accel, why);
        reporter.warn(`${ctx.accel} cannot run the guest on this host (${why}); retrying with tcg`);
        ctx.accel = 'tcg';
        ctx.cpus = vcpuCount(config.cpus, 'tcg');
        ctx.host = { ...host, accel: 'tcg', reason: `${host.accel} cannot run the guest on this host (${why})` };
      }
    }
  } catch (e) {
    await cleanupRunFiles(config).catch(() => {});
    throw e;
  } finally {
    await lock.release();
  }
}

/** Failed resumes in a row (timeouts) after which a snapshot is quarantined. */
const QUARANTINE_AFTER = 2;

interface Booted extends BootedVm {
  mode: StartMode;
  coldReason?: string;
  snapshotId?: string;
  snapshotFormat?: InstanceState['snapshotFormat'];
}

async function boot(ctx: BootContext): Promise<Booted> {
  const { config, reporter } = ctx;
  if (!config.snapshot) {
    const step = reporter.step('cold boot (snapshots disabled)');
    const booted = await coldBoot(ctx, { fresh: false }).catch((e) => {
      step.fail();
      throw e;
    });
    step.succeed('cold boot: healthy');
    return { ...booted, mode: 'cold', coldReason: 'snapshots disabled (--no-snapshot or EMULATOR_NO_SNAPSHOT=1)' };
  }
  if (ctx.snapshots.format === undefined) {
    const step = reporter.step('cold boot');
    const booted = await coldBoot(ctx, { fresh: false }).catch((e) => {
      step.fail();
      throw e;
    });
    step.succeed(`cold boot: healthy${booted.secrets === 'fresh' ? ', secrets rotated' : booted.secrets === 'kept' ? ', secrets kept' : ''}`);
    return { ...booted, mode: 'cold', coldReason: ctx.snapshots.reason };
  }
  const cache = new SnapshotCache(config.paths.snapshots);
  const key = compatibilityKey(ctx, ctx.snapshots.format);
  const found = await cache.lookup(key);
  let entry = found.hit ? found.entry : undefined;
  let coldReason: string | undefined;
  if (!entry || config.forceCapture) {
    if (!found.hit && found.quarantined && !config.forceCapture) {
      coldReason = `${found.reason}; run \`stack-emulator capture\` to take a new one`;
    } else {
      reporter.info(config.forceCapture ? 'capturing a new snapshot (forced)' : `no usable snapshot: ${found.hit ? '' : found.reason}; capturing one (one time)`);
      try {
        entry = await captureSnapshot(ctx, key);
        mark(ctx, 'captured');
      } catch (e) {
        if (e instanceof EmulatorError && e.code === 'INTERRUPTED') throw e;
        if (accelFailure(ctx)) throw e;
        coldReason = `snapshot capture failed: ${(e as Error).message}`;
        if (e instanceof EmulatorError && e.code === 'SNAPSHOT_UNSUPPORTED') {
          await rememberRefusedFormat(config, ctx.host.probe, key.format, e.message);
          coldReason += ' (remembered for this QEMU: the next start will not try this format again)';
        }
        reporter.warn(coldReason);
      }
    }
  }
  if (entry) {
    const step = reporter.step(`resuming snapshot ${entry.id.slice(0, 8)}`);
    try {
      const booted = await resumeSnapshot(ctx, entry);
      await cache.clearFailures(entry);
      step.succeed(`resumed${booted.secrets === 'fresh' ? ' and rotated secrets' : ' (rotation disabled)'}`);
      return { ...booted, mode: 'resumed', snapshotId: entry.id, snapshotFormat: entry.meta.key.format };
    } catch (e) {
      if (e instanceof EmulatorError && (e.code === 'INTERRUPTED' || e.code === 'HOST_SHARE_FAILED')) throw e;
      step.fail('resume failed');
      if (accelFailure(ctx)) throw e;
      coldReason = `resume failed: ${(e as Error).message}`;
      // A broken snapshot is quarantined at once; a timeout (maybe a loaded host) only the second
      // time in a row, so one slow moment does not cost the snapshot.
      const failures = e instanceof EmulatorError && e.transient ? await cache.recordFailure(entry, (e as Error).message) : QUARANTINE_AFTER;
      if (failures >= QUARANTINE_AFTER) {
        const where = await cache.quarantine(entry, (e as Error).message);
        reporter.warn(`${coldReason}; snapshot quarantined (${where}); falling back to a cold boot`);
      } else {
        reporter.warn(`${coldReason}; the snapshot is kept (a timeout; a second one in a row quarantines it); falling back to a cold boot`);
      }
    }
  }
  const step = reporter.step('cold boot');
  const booted = await coldBoot(ctx, { fresh: true }).catch((e) => {
    step.fail();
    throw e;
  });
  step.succeed(`cold boot: healthy${booted.secrets === 'fresh' ? ', secrets rotated' : booted.secrets === 'kept' ? ', secrets kept' : ''}`);
  return { ...booted, mode: 'cold', coldReason: coldReason ?? 'no snapshot' };
}

/** `capture`: a new snapshot for the current configuration, replacing any (also a quarantined one). */
export async function captureOnly(config: EmulatorConfig, options: { reporter: Reporter; signal?: AbortSignal }): Promise<{ snapshotId: string; elapsedMs: number }> {
  const t0 = Date.now();
  const lock = await lockInstance(config, 'capture');
  try {
    const existing = await runningInstance(config);
    if (existing) throw new EmulatorError('ALREADY_RUNNING', `the emulator is running (pid ${existing.pid}); a capture needs its ports and sockets`, { hint: 'run `stack-emulator stop` first' });
    await cleanupRunFiles(config);
    const ctx = await prepareBoot(config, { reporter: options.reporter, signal: options.signal, t0 });
    if (ctx.snapshots.format === undefined) throw new EmulatorError('SNAPSHOT_UNSUPPORTED', ctx.snapshots.reason);
    const entry = await captureSnapshot(ctx, compatibilityKey(ctx, ctx.snapshots.format));
    return { snapshotId: entry.id, elapsedMs: Date.now() - t0 };
  } finally {
    await cleanupRunFiles(config).catch(() => {});
    await lock.release();
  }
}
