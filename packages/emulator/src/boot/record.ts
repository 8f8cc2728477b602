import { formatQemuVersion } from '@stack/qemu-argv';
import { keyInFile } from '../guest/secrets.js';
import { clearState, type InstanceState, type Persistence, writeState } from '../instance/state.js';
import type { Vm } from '../seams/vm.js';
import { compatibilityKey } from '../vm/vm-spec.js';
import type { BootEnv } from './boot-env.js';
import type { Booted, Launching } from './booted.js';

/** When the start began, for `startedAt`. */
const startedAt = (env: BootEnv) => new Date(env.t0).toISOString();

function record(
  env: BootEnv,
  vm: Vm,
  fields: Pick<InstanceState, 'mode' | 'image' | 'rotated'> &
    Partial<Omit<InstanceState, 'shares'>> & { shares: readonly string[]; boot: InstanceState['boot'] },
): InstanceState {
  const { config, seams } = env.op;
  const { shares, ...rest } = fields;
  const readonlyShares = shares.filter((d) => env.readonlyShares.includes(d));
  return {
    version: 1,
    pid: vm.pid,
    ...(vm.pidStartTime ? { pidStartTime: vm.pidStartTime } : {}),
    arch: config.arch,
    accel: env.accel,
    accelReason: env.host.reason,
    qemuVersion: formatQemuVersion(env.host.probe.version),
    ports: config.ports,
    portsMode: config.portsMode,
    portPrefix: config.portPrefix,
    ...(shares.length ? { shares: [...shares] } : {}),
    ...(readonlyShares.length ? { readonlyShares } : {}),
    ...(config.configFile ? { configFile: config.configFile } : {}),
    startedAt: startedAt(env),
    timings: env.timings,
    starter: { pid: seams.processes.self, startTime: seams.processes.startTime(seams.processes.self) },
    ...rest,
  };
}

/**
 * The moment QEMU exists, the instance is recorded (phase `starting`, with this command as its
 * starter), and the session it runs on is marked running: a start killed from here on leaves a VM
 * that `stop` ends and the next `start` recognises as an orphan, and a session that says it did not
 * stop cleanly.
 */
export async function recordLaunch(env: BootEnv, vm: Vm, what: Launching): Promise<void> {
  const bootKind = env.boot.kernel ? 'direct-kernel' : env.boot.firmware ? 'firmware' : 'bios';
  await writeState(
    env.op.config.paths.state,
    record(env, vm, {
      mode: what.mode,
      image: what.image,
      rotated: false,
      shares: what.shares,
      boot: bootKind,
      phase: 'starting',
    }),
  );
  if (what.session)
    what.session.meta = await what.session.store.update(({ lastStop: _l, ...m }) => ({
      ...m,
      running: { since: startedAt(env), pid: vm.pid },
    }));
}

/** The QEMU of a capture, recorded the same way (phase `capturing`). */
export async function recordCapture(env: BootEnv, vm: Vm): Promise<void> {
  await writeState(
    env.op.config.paths.state,
    record(env, vm, {
      mode: 'cold',
      image: env.image.path,
      rotated: false,
      shares: [],
      boot: undefined,
      phase: 'capturing',
    }),
  );
}

/** The attempt's QEMU is gone: so is its record. */
export async function clearLaunch(env: BootEnv): Promise<void> {
  await clearState(env.op.config.paths.state);
}

/** What `stop` will keep of this VM. */
function persistenceOf(env: BootEnv, b: Booted): Persistence {
  if (!b.session) return { kind: 'ephemeral' };
  if (b.layout !== 'snapshot' || !b.format) return { kind: 'session' };
  return {
    kind: 'session',
    save: {
      key: compatibilityKey(env, b.format),
      format: b.format,
      cpus: env.cpus,
      qemuVersion: env.host.probe.version,
    },
  };
}

/** The healthy instance: its full record (phase `running`), and its secrets in the session. */
export async function recordStarted(env: BootEnv, b: Booted): Promise<InstanceState> {
  const { config } = env.op;
  const state = record(env, b.vm, {
    mode: b.mode,
    image: b.image,
    boot: b.boot,
    shares: b.shares,
    phase: 'running',
    ...(b.mode !== 'cold' && b.format ? { snapshotFormat: b.resumedFrom ?? b.format } : {}),
    ...(b.coldReason ? { coldReason: b.coldReason } : {}),
    ...(b.snapshotId ? { snapshotId: b.snapshotId } : {}),
    rotated: b.secrets === 'fresh',
    secrets: b.secrets,
    persistence: persistenceOf(env, b),
  });
  delete state.starter;
  if (b.session) {
    const clientKey = await keyInFile(config.paths.internalPck);
    b.session.meta = await b.session.store.update(({ lastStop: _l, ...m }) => ({
      ...m,
      running: { since: state.startedAt, pid: state.pid },
      secrets: b.secrets,
      ...(clientKey ? { clientKey } : {}),
      // Told at boot (the config disk) or at settle (retarget hook): either way this start's.
      guestPorts: { ...config.ports },
    }));
  }
  await writeState(config.paths.state, state);
  return state;
}
