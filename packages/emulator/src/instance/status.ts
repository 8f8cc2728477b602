import { type SessionMeta, type SessionSizes } from '@stack/snapshot-cache';
import type { Op } from '../context/op.js';
import { describeOriginalSnapshots, originalInstance } from '../session/legacy-home.js';
import { sessionStore } from '../session/store.js';
import type { EmulatorConfig } from '../config/resolve-config.js';
import { probeServices, type ServiceHealth } from '../guest/health.js';
import { type InstanceState, readState } from './state.js';
import { tail } from '../vm/logs-tail.js';
import { isOrphan } from './instance.js';

export interface StatusReport {
  /** The instance reported on (`default`, or the name given with --instance). */
  name: string;
  /** `running`: QEMU is alive; `stopped`: no instance; `crashed`: QEMU died without `stop`. */
  vm: 'running' | 'stopped' | 'crashed';
  /** QEMU's run state (`running`, `paused`, `internal-error`, ...) when it answered. */
  runState?: string;
  /** True only when the VM runs and every service answers its probe. */
  healthy: boolean;
  reason?: string;
  services: ServiceHealth[];
  instance?: Pick<
    InstanceState,
    'pid' | 'mode' | 'accel' | 'arch' | 'image' | 'ports' | 'startedAt' | 'rotated' | 'timings'
  > &
    Partial<Pick<InstanceState, 'coldReason' | 'boot' | 'qemuVersion' | 'snapshotFormat' | 'secrets' | 'shares'>>;
  urls?: { dashboard: string; backend: string; minio: string; inbucket: string };
  /** The saved session, whether or not the VM runs. */
  session?: SessionReport;
  /** Things worth knowing about the home (an earlier tool's leftovers). */
  notes?: string[];
}

interface SessionReport {
  origin: SessionMeta['origin'];
  createdAt: string;
  imageDigest: string;
  running?: SessionMeta['running'];
  lastStop?: SessionMeta['lastStop'];
  ram?: { savedAt: string; format: string; bytes: number };
  sizes: SessionSizes;
}

async function sessionReport(config: EmulatorConfig): Promise<SessionReport | undefined> {
  const store = sessionStore(config);
  const meta = await store.read();
  if (!meta) return undefined;
  const sizes = await store.sizes();
  return {
    origin: meta.origin,
    createdAt: meta.createdAt,
    imageDigest: meta.image.digest,
    ...(meta.running ? { running: meta.running } : {}),
    ...(meta.lastStop ? { lastStop: meta.lastStop } : {}),
    ...(meta.ram ? { ram: { savedAt: meta.ram.savedAt, format: meta.ram.key.format, bytes: sizes.ram } } : {}),
    sizes,
  };
}

/** VM state, each service's health, the session and notes about the home. */
export async function emulatorStatus(op: Op): Promise<StatusReport> {
  const { config } = op;
  const [vm, session] = await Promise.all([vmStatus(op), sessionReport(config)]);
  const leftovers = describeOriginalSnapshots(config);
  const orig = vm.vm === 'stopped' ? originalInstance(config) : undefined;
  const notes = [...(leftovers ? [leftovers] : [])];
  const base = orig
    ? {
        ...vm,
        vm: 'running' as const,
        reason: `QEMU pid ${orig.pid} was started by the original stack-emulator: \`stack-emulator stop\` stops it`,
      }
    : vm;
  return { name: config.instance, ...base, ...(session ? { session } : {}), ...(notes.length ? { notes } : {}) };
}

function serviceUrls(ports: InstanceState['ports']): NonNullable<StatusReport['urls']> {
  return {
    dashboard: `http://localhost:${ports.dashboard}`,
    backend: `http://localhost:${ports.backend}`,
    minio: `http://localhost:${ports.minio}`,
    inbucket: `http://localhost:${ports.inbucket}`,
  };
}

/** VM state and each service's health, kept apart: "running" does not mean "healthy". */
async function vmStatus(op: Op): Promise<Omit<StatusReport, 'name'>> {
  const { config, seams } = op;
  const state = await readState(config.paths.state);
  if (!state) return { vm: 'stopped', healthy: false, services: [] };
  const instance = {
    pid: state.pid,
    mode: state.mode,
    accel: state.accel,
    arch: state.arch,
    image: state.image,
    ports: state.ports,
    startedAt: state.startedAt,
    rotated: state.rotated,
    timings: state.timings,
    ...(state.coldReason ? { coldReason: state.coldReason } : {}),
    ...(state.boot ? { boot: state.boot } : {}),
    ...(state.qemuVersion ? { qemuVersion: state.qemuVersion } : {}),
    ...(state.snapshotFormat ? { snapshotFormat: state.snapshotFormat } : {}),
    ...(state.secrets ? { secrets: state.secrets } : {}),
    ...(state.shares ? { shares: state.shares } : {}),
  };
  if (!seams.processes.alive(state.pid, state.pidStartTime)) {
    const last = tail(config.paths.qemuLog, 3).trim();
    return {
      vm: 'crashed',
      healthy: false,
      reason: `QEMU (pid ${state.pid}) exited without \`stop\`${last ? `; its last output: ${last}` : ''}`,
      services: [],
      instance,
    };
  }
  let runState: string | undefined;
  let reason: string | undefined;
  const control = await seams.vms.attach(config.paths.qmpSocket, { trace: op.trace, timeout: 2000 });
  if (control) {
    runState = await control.status({ timeout: 2000 }).then(
      (s) => s.status,
      () => undefined,
    );
    await control.close().catch(() => {});
  } else {
    reason = "QEMU's monitor did not answer";
  }
  if (state.phase === 'starting' || state.phase === 'capturing') {
    const what = state.phase === 'starting' ? 'starting' : 'capturing a snapshot';
    reason = isOrphan(op, state)
      ? `its start was interrupted (the command that was ${what} is gone): the next \`stack-emulator start\` ends it, or \`stack-emulator stop\``
      : `${what} (pid ${state.starter?.pid ?? '?'})`;
  }
  // Probing a paused guest only loses SYNs; report it as it is.
  const services = runState === undefined || runState === 'running' ? await probeServices(state.ports) : [];
  const healthy = runState === 'running' && services.length > 0 && services.every((s) => s.healthy);
  if (state.phase && state.phase !== 'running')
    return {
      vm: 'running',
      ...(runState ? { runState } : {}),
      healthy: false,
      reason: reason!,
      services,
      instance,
      urls: serviceUrls(state.ports),
    };
  if (!reason && runState !== 'running') reason = `the VM is ${runState ?? 'unknown'}`;
  if (!reason && !healthy)
    reason = `unhealthy: ${services
      .filter((s) => !s.healthy)
      .map((s) => s.name)
      .join(', ')}`;
  return {
    vm: 'running',
    ...(runState ? { runState } : {}),
    healthy,
    ...(reason ? { reason } : {}),
    services,
    instance,
    urls: serviceUrls(state.ports),
  };
}
