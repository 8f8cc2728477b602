import { formatQemuVersion } from '@stack/qemu-argv';
import { type EmulatorConfig, vcpuCount } from '../config/resolve-config.js';
import { EmulatorError } from '../errors.js';
import type { Reporter } from '../report/reporter.js';
import { rememberUnusable } from '../host/accel.js';
import { accelFailure, compatibilityKey } from './boot-context.js';
import { bootEphemeral, bootSession } from './boot-paths.js';
import { captureSnapshot } from './capture.js';
import { keyInFile } from './cold-boot.js';
import { originalInstance } from '../session/legacy-home.js';
import { prepareBoot } from './prepare.js';
import { stopHeld } from '../instance/stop.js';
import { cleanupRunFiles, lockInstance, runningInstance } from '../instance/instance.js';
import { type InstanceState, type Persistence, writeState } from '../instance/state.js';

export interface StartResult {
  /** True when an instance was already running: nothing was touched. */
  alreadyRunning: boolean;
  /** True when a running instance was saved and resumed to share the config file's directory. */
  reshared?: boolean;
  state: InstanceState;
}

/** The running instance lacks a share for the config file: no shared directory holds it. */
function lacksShare(config: EmulatorConfig, state: InstanceState): boolean {
  if (!config.configFile) return false;
  const shares = state.shares ?? (state.hostShare ? [state.hostShare] : []);
  return !shares.some((d) => config.configFile!.startsWith(`${d}/`));
}

/** Refuses to touch a home whose QEMU the original stack-emulator started (its ports and disk are in use). */
function assertNoOriginalInstance(config: EmulatorConfig): void {
  const orig = originalInstance(config);
  if (orig) {
    throw new EmulatorError(
      'ALREADY_RUNNING',
      `an emulator started by the original stack-emulator is running on ${config.paths.home} (QEMU pid ${orig.pid}); its ports and disk are in use`,
      {
        hint: 'run `stack-emulator stop` (it stops that one too; its disk is kept and adopted at the next start)',
      },
    );
  }
}

/**
 * The flow of `start` (docs/ARCHITECTURE.md): lock, host probe, ports, image, then one of the boot paths
 * (boot-paths.ts), recorded in run/state.json; on an accelerator that cannot run the guest, the same
 * again under TCG.
 */
export async function startEmulator(
  config: EmulatorConfig,
  options: { reporter: Reporter; signal?: AbortSignal; t0?: number },
): Promise<StartResult> {
  const t0 = options.t0 ?? Date.now();
  const { reporter, signal } = options;
  const lock = await lockInstance(config, 'start');
  try {
    const existing = await runningInstance(config);
    let reshared = false;
    if (existing && !lacksShare(config, existing)) return { alreadyRunning: true, state: existing };
    if (existing) {
      // A share is fixed at QEMU's launch (no fsdev hot-plug): a saved session is resumed with it.
      if (existing.persistence?.kind !== 'session' || !existing.persistence.save) {
        throw new EmulatorError(
          'HOST_SHARE_FAILED',
          `the running emulator does not share ${config.shareRoot}, and it cannot be saved and resumed with it (${existing.persistence?.kind === 'session' ? 'it runs without snapshots' : 'it is ephemeral'})`,
          { hint: `stop it, then start again with --config-file ${config.configFile}` },
        );
      }
      reporter.info(
        `sharing ${config.shareRoot} with the running emulator: saving its session and resuming it with the new share`,
      );
      const r = await stopHeld(config);
      if (r.how !== 'saved')
        reporter.warn(`the session could not be saved (${r.saveFailed ?? r.how}); it cold-boots with the new share`);
      reshared = true;
    }
    assertNoOriginalInstance(config);
    await cleanupRunFiles(config);
    const ctx = await prepareBoot(config, { reporter, signal, t0 });
    const host = ctx.host;

    for (;;) {
      try {
        const booted = config.ephemeral ? await bootEphemeral(ctx) : await bootSession(ctx);
        const image = ctx.image;
        const persistence: Persistence = config.ephemeral
          ? { kind: 'ephemeral' }
          : booted.layout === 'snapshot' && booted.format
            ? {
                kind: 'session',
                save: {
                  key: compatibilityKey(ctx, booted.format),
                  format: booted.format,
                  cpus: ctx.cpus,
                  qemuVersion: ctx.host.probe.version,
                },
              }
            : { kind: 'session' };
        const state: InstanceState = {
          version: 1,
          pid: booted.vm.pid,
          pidStartTime: booted.vm.pidStartTime,
          arch: config.arch,
          accel: ctx.accel,
          accelReason: ctx.host.reason,
          boot: ctx.boot.kernel ? 'direct-kernel' : ctx.boot.firmware ? 'firmware' : 'bios',
          mode: booted.mode,
          qemuVersion: formatQemuVersion(ctx.host.probe.version),
          ...(booted.mode !== 'cold' && booted.format ? { snapshotFormat: booted.format } : {}),
          ...(booted.coldReason ? { coldReason: booted.coldReason } : {}),
          ...(booted.snapshotId ? { snapshotId: booted.snapshotId } : {}),
          image: image.path,
          ports: config.ports,
          portPrefix: config.portPrefix,
          ...(ctx.shares.length ? { shares: ctx.shares } : {}),
          ...(config.configFile ? { configFile: config.configFile } : {}),
          rotated: booted.secrets === 'fresh',
          secrets: booted.secrets,
          startedAt: new Date(t0).toISOString(),
          timings: ctx.timings,
          persistence,
        };
        try {
          signal?.throwIfAborted();
          if (ctx.session) {
            const clientKey = await keyInFile(config.paths.internalPck);
            ctx.session.meta = await ctx.session.store.update(({ lastStop: _l, ...m }) => ({
              ...m,
              running: { since: state.startedAt, pid: state.pid },
              secrets: booted.secrets,
              ...(clientKey ? { clientKey } : {}),
            }));
          }
          await writeState(config.paths.state, state);
        } catch (e) {
          // Without its state file nothing could find or stop this VM: never leave it running.
          await booted.vm.kill();
          throw signal?.aborted ? new EmulatorError('INTERRUPTED', 'interrupted', { cause: e }) : e;
        }
        await booted.vm.qmp.close();
        booted.vm.detach();
        return { alreadyRunning: false, ...(reshared ? { reshared } : {}), state };
      } catch (e) {
        // A hardware accelerator that exists but cannot run this guest shows up at the first boot.
        const why = accelFailure(ctx);
        if (!why) throw e;
        await rememberUnusable(config, host.probe, ctx.accel, why);
        reporter.warn(`${ctx.accel} cannot run the guest on this host (${why}); retrying with tcg`);
        ctx.accel = 'tcg';
        ctx.cpus = vcpuCount(config.cpus, 'tcg');
        ctx.host = { ...host, accel: 'tcg', reason: `${host.accel} cannot run the guest on this host (${why})` };
        // A session this attempt made holds no data yet: the retry makes its own for TCG.
        if (ctx.session && ctx.sessionCreated) {
          await ctx.session.store.drop();
          ctx.session = undefined;
          ctx.sessionCreated = false;
        }
      }
    }
  } catch (e) {
    await cleanupRunFiles(config).catch(() => {});
    throw e;
  } finally {
    await lock.release();
  }
}

/** `capture`: a new snapshot for the current configuration, replacing any (also a quarantined one). */
export async function captureOnly(
  config: EmulatorConfig,
  options: { reporter: Reporter; signal?: AbortSignal },
): Promise<{ snapshotId: string; elapsedMs: number }> {
  const t0 = Date.now();
  const lock = await lockInstance(config, 'capture');
  try {
    const existing = await runningInstance(config);
    if (existing)
      throw new EmulatorError(
        'ALREADY_RUNNING',
        `the emulator is running (pid ${existing.pid}); a capture needs its ports and sockets`,
        { hint: 'run `stack-emulator stop` first' },
      );
    assertNoOriginalInstance(config);
    await cleanupRunFiles(config);
    // A capture is of the image as it is now, not a session's pinned one.
    const ctx = await prepareBoot(
      { ...config, ephemeral: true },
      { reporter: options.reporter, signal: options.signal, t0 },
    );
    if (ctx.snapshots.format === undefined) throw new EmulatorError('SNAPSHOT_UNSUPPORTED', ctx.snapshots.reason);
    const entry = await captureSnapshot(ctx, compatibilityKey(ctx, ctx.snapshots.format));
    return { snapshotId: entry.id, elapsedMs: Date.now() - t0 };
  } finally {
    await cleanupRunFiles(config).catch(() => {});
    await lock.release();
  }
}
