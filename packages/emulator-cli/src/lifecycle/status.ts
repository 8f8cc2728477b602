import { QmpClient, queryStatus } from '@stack/qmp-protocol';
import { isSameProcess } from '@stack/snapshot-cache';
import type { EmulatorConfig } from '../config/resolve-config.js';
import { probeServices, type ServiceHealth } from './health.js';
import { type InstanceState, readState } from './state.js';
import { tail } from './vm-process.js';

export interface StatusReport {
  /** `running`: QEMU is alive; `stopped`: no instance; `crashed`: QEMU died without `stop`. */
  vm: 'running' | 'stopped' | 'crashed';
  /** QEMU's run state (`running`, `paused`, `internal-error`, ...) when it answered. */
  runState?: string;
  /** True only when the VM runs and every service answers its probe. */
  healthy: boolean;
  reason?: string;
  services: ServiceHealth[];
  instance?: Pick<InstanceState, 'pid' | 'mode' | 'accel' | 'arch' | 'image' | 'ports' | 'startedAt' | 'rotated' | 'timings'> & Partial<Pick<InstanceState, 'coldReason' | 'boot' | 'qemuVersion' | 'snapshotFormat' | 'secrets' | 'shares'>>;
  urls?: { dashboard: string; backend: string; minio: string; inbucket: string };
}

export function serviceUrls(ports: InstanceState['ports']): NonNullable<StatusReport['urls']> {
  return {
    dashboard: `http://localhost:${ports.dashboard}`,
    backend: `http://localhost:${ports.backend}`,
    minio: `http://localhost:${ports.minio}`,
    inbucket: `http://localhost:${ports.inbucket}`,
  };
}

/** VM state and each service's health, kept apart: "running" does not mean "healthy". */
export async function emulatorStatus(config: EmulatorConfig): Promise<StatusReport> {
  const state = await readState(config.paths.state);
  if (!state) return { vm: 'stopped', healthy: false, services: [] };
  const instance = {
    pid: state.pid, mode: state.mode, accel: state.accel, arch: state.arch, image: state.image, ports: state.ports,
    startedAt: state.startedAt, rotated: state.rotated, timings: state.timings, ...(state.coldReason ? { coldReason: state.coldReason } : {}),
    ...(state.boot ? { boot: state.boot } : {}),
    ...(state.qemuVersion ? { qemuVersion: state.qemuVersion } : {}),
    ...(state.snapshotFormat ? { snapshotFormat: state.snapshotFormat } : {}),
    ...(state.secrets ? { secrets: state.secrets } : {}),
    ...(state.shares ? { shares: state.shares } : {}),
  };
  if (!isSameProcess(state.pid, state.pidStartTime)) {
    const last = tail(config.paths.qemuLog, 3).trim();
    return { vm: 'crashed', healthy: false, reason: `QEMU (pid ${state.pid}) exited without \`stop\`${last ? `; its last output: ${last}` : ''}`, services: [], instance };
  }
  let runState: string | undefined;
  let reason: string | undefined;
  const qmp = await QmpClient.connect(config.paths.qmpSocket, { timeout: 2000 }).catch((e: Error) => {
    reason = `QEMU's monitor did not answer: ${e.message}`;
    return undefined;
  });
  if (qmp) {
    runState = await queryStatus(qmp, { timeout: 2000 }).then((s) => s.status, () => undefined);
    await qmp.close().catch(() => {});
  }
  // Probing a paused guest only loses SYNs; report it as it is.
  const services = runState === undefined || runState === 'running' ? await probeServices(state.ports) : [];
  const healthy = runState === 'running' && services.length > 0 && services.every((s) => s.healthy);
  if (!reason && runState !== 'running') reason = `the VM is ${runState ?? 'unknown'}`;
  if (!reason && !healthy) reason = `unhealthy: ${services.filter((s) => !s.healthy).map((s) => s.name).join(', ')}`;
  return { vm: 'running', ...(runState ? { runState } : {}), healthy, ...(reason ? { reason } : {}), services, instance, urls: serviceUrls(state.ports) };
}
