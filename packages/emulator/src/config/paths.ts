import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { socketDirFor } from '@stack/qemu-argv';

/**
 * Files under the emulator home (default `~/.stack/emulator`, `STACK_EMULATOR_HOME`). Names users or
 * scripts of the tool we replace may rely on are kept: `images/stack-emulator-<arch>.qcow2`,
 * `run/vm/internal-pck`, `run/vm/serial.log`.
 */
export interface HomeLayout {
  home: string;
  /** The instance these paths are of (`default`, or a name given with --instance). */
  instance: string;
  /** Where the instance's own files live: the home itself for `default`, else `instances/<name>`. */
  instanceRoot: string;
  /** The directory of every instance but `default`. */
  instances: string;
  /** The host ports chosen for the instance (`--ports auto`, or any instance but `default`): kept across starts. */
  ports: string;
  /** Held while an instance chooses or records its ports (home-wide: the choice reads every instance's). */
  portsLock: string;
  /** What each image (by digest) was seen to offer: e.g. that it takes other host ports when it settles. */
  imageCapabilities: string;
  images: string;
  snapshots: string;
  /** Named states of instances (`checkpoint save`), shared by the home: a checkpoint can start any instance. */
  checkpoints: string;
  /** Remembered accelerator verdicts of this host. */
  accelVerdicts: string;
  /** Snapshot formats this host's QEMU refused (see snapshot-support.ts). */
  snapshotVerdicts: string;
  /** What each QEMU binary printed when probed, by the binary's identity (see qemu-argv probe-cache.ts). */
  qemuProbes: string;
  /** Cached sha256 of image files, keyed by path, size and mtime. */
  imageDigests: string;
  /** The persistent session: its disk, saved RAM state and pinned image (see session.ts). */
  session: string;
  /** An empty directory standing in for a share a saved session had whose directory is gone. */
  emptyShare: string;
  run: string;
  lock: string;
  state: string;
  /** 0700: sockets, overlay, logs and the published client key. */
  vm: string;
  /** The disk of `--ephemeral` starts, made afresh at each. */
  ephemeralDisk: string;
  /** A cold-boot disk of the original or of versions before sessions, adopted into the session (legacy-home.ts). */
  overlay: string;
  overlayMeta: string;
  configIso: string;
  seedPhantom: string;
  bundlePhantom: string;
  /** 0700, short whatever the home's length (unix sockets have a length limit): see qemu-argv socketDirFor. */
  sockets: string;
  qmpSocket: string;
  agentSocket: string;
  serialLog: string;
  qemuLog: string;
  internalPck: string;
  /** The last lifecycle command's trace (JSON lines; see trace.ts). */
  trace: string;
}

export function defaultHome(): string {
  return join(homedir(), '.stack', 'emulator');
}

/** The instance every home has, on the paths of the versions before instances (and of the original). */
export const DEFAULT_INSTANCE = 'default';

/**
 * The files of `instance` in the home: images, snapshots and the host's verdicts are shared by every
 * instance; each has its own run directory (lock, state, logs, sockets, config disk) and session. The
 * instance `default` keeps the paths of the versions before instances (`run/`, `session/`,
 * `run/vm/internal-pck`); another lives under `instances/<name>/`.
 */
export function homeLayout(
  home: string,
  env: Readonly<Record<string, string | undefined>>,
  instance: string = DEFAULT_INSTANCE,
): HomeLayout {
  const h = resolve(home);
  const root = instance === DEFAULT_INSTANCE ? h : join(h, 'instances', instance);
  const run = join(root, 'run');
  const sockets = socketDirFor(root, { env });
  return {
    home: h,
    instance,
    instanceRoot: root,
    instances: join(h, 'instances'),
    ports: join(root, 'ports.json'),
    portsLock: join(h, 'host', 'ports.lock'),
    imageCapabilities: join(h, 'images', 'capabilities.json'),
    images: join(h, 'images'),
    snapshots: join(h, 'snapshots'),
    checkpoints: join(h, 'checkpoints'),
    accelVerdicts: join(h, 'host', 'accel-verdicts.json'),
    snapshotVerdicts: join(h, 'host', 'snapshot-verdicts.json'),
    qemuProbes: join(h, 'host', 'qemu-probes.json'),
    imageDigests: join(h, 'images', 'digests.json'),
    session: join(root, 'session'),
    ...runLayout(run),
    sockets,
    qmpSocket: join(sockets, 'monitor.sock'),
    agentSocket: join(sockets, 'qga.sock'),
  };
}

/** What lives in a run directory (`run/` of an instance, or `EMULATOR_RUN_DIR`): one list for both. */
export function runLayout(run: string) {
  const vm = join(run, 'vm');
  return {
    run,
    emptyShare: join(run, 'empty-share'),
    lock: join(run, 'lock'),
    state: join(run, 'state.json'),
    trace: join(run, 'trace.log'),
    vm,
    ephemeralDisk: join(vm, 'ephemeral.qcow2'),
    overlay: join(vm, 'disk.qcow2'),
    overlayMeta: join(vm, 'disk.json'),
    configIso: join(vm, 'runtime-config.iso'),
    seedPhantom: join(vm, 'seed.phantom'),
    bundlePhantom: join(vm, 'bundle.phantom'),
    serialLog: join(vm, 'serial.log'),
    qemuLog: join(vm, 'qemu.log'),
    internalPck: join(vm, 'internal-pck'),
  };
}
