import { existsSync, statSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { defaultCpuCount } from '@stack/qemu-argv';
import { EmulatorError } from '../errors.js';
import { shareRootFor } from '../host/host-share.js';
import { configuredShares, type ShareRequest } from '../host/wide-shares.js';
import { checkInstanceName } from './instance-name.js';
import { detectHost, type HostInfo } from './host-info.js';
import { DEFAULT_INSTANCE, defaultHome, type HomeLayout, homeLayout } from './paths.js';
import { type EmulatorEnv, parseEnv } from './env-schema.js';
import { withCompatPortNames } from './compat-names.js';
import { withCompatDirs } from './compat-dirs.js';
import { checkPorts } from './port-checks.js';

import type { Accel, Arch } from '@stack/internal';
export type ImageChoice = { kind: 'stack' } | { kind: 'reference' } | { kind: 'path'; path: string };

/** Host ports of the guest contract. */
export interface Ports {
  dashboard: number;
  backend: number;
  minio: number;
  inbucket: number;
  mockOauth: number;
}

/** Everything a command needs, resolved once (flags > environment > defaults) and frozen. */
export interface EmulatorConfig {
  paths: HomeLayout;
  /** The instance (`--instance`, STACK_EMULATOR_INSTANCE): its own lock, run directory, session, ports. */
  instance: string;
  /**
   * `fixed`: the port variables (or their defaults); `auto`: free host ports chosen at the first start
   * and kept (`--ports auto`, and any instance but `default` whose ports were not given).
   */
  portsMode: 'fixed' | 'auto';
  /** Start even when the memory check refuses (`--force`). */
  force: boolean;
  /** STACK_EMULATOR_TEST_MEM_AVAILABLE_MIB: the available memory the memory check sees, in tests. */
  testMemAvailableMiB: number | undefined;
  /** The machine (platform, architecture, Rosetta), read once. */
  host: HostInfo;
  arch: Arch;
  accelOverride: Accel | undefined;
  memoryMiB: number;
  /** EMULATOR_CPUS; undefined: decided with the accelerator (see `vcpuCount`). */
  cpus: number | undefined;
  portPrefix: string;
  ports: Ports;
  image: ImageChoice;
  snapshot: boolean;
  /** EMULATOR_GUEST_NETWORK: what the guest may reach (see docs/guest-contract.md, "Network"). */
  guestNetwork: 'isolated' | 'outbound';
  /** EMULATOR_SNAPSHOT_FORMAT: `auto` or the one format to capture (see host/snapshot-support.ts). */
  snapshotFormat: 'auto' | 'template-ram' | 'mapped-ram' | 'stream';
  /** `--ephemeral` / EMULATOR_EPHEMERAL=1: no session (golden every start, nothing saved at stop). */
  ephemeral: boolean;
  rotation: boolean;
  /** `--rotate`: fresh secrets even when resuming a saved session (which keeps its own). */
  forceRotate: boolean;
  forceCapture: boolean;
  /** Absolute path of the project config file (`--config-file`). */
  configFile: string | undefined;
  /** The directory shared with the guest for it: its project directory (see host/host-share.ts). */
  shareRoot: string | undefined;
  /** `--share`, `--share-readonly`, EMULATOR_SHARES, checked, by real path (host/wide-shares.ts). */
  extraShares: readonly ShareRequest[];
  /** Warnings for confirmed wide shares (the home, `/`), printed by the start. */
  shareWarnings: readonly string[];
  /** `--base-env` / EMULATOR_BASE_ENV: the config disk's base.env (see image/base-env.ts). */
  baseEnvFile: string | undefined;
  readyTimeoutMs: number;
  snapshotReadyTimeoutMs: number;
  stopTimeoutMs: number;
  /** STACK_EMULATOR_GITHUB_API; undefined: api.github.com. */
  githubApi: string | undefined;
  /**
   * The environment this configuration was resolved from: what the later steps read (GITHUB_TOKEN,
   * STACK_EMULATOR_REFERENCE_APPLIANCE, CI) comes from here, never from process.env.
   */
  env: Readonly<Record<string, string | undefined>>;
}

/** Flags common to the commands that may start the emulator. */
export interface StartFlags {
  instance?: string;
  ports?: string;
  force?: boolean;
  image?: string;
  arch?: string;
  configFile?: string;
  snapshot?: boolean;
  rotation?: boolean;
  forceCapture?: boolean;
  baseEnv?: string;
  ephemeral?: boolean;
  rotate?: boolean;
  /** `--share`, `--share-readonly`, `--yes` (see host/wide-shares.ts). */
  shares?: readonly string[];
  readonlyShares?: readonly string[];
  confirmWideShare?: boolean;
}

/**
 * vCPUs of the guest: EMULATOR_CPUS, else qemu-argv's `defaultCpuCount` (4, and no more than the
 * host's cores under TCG). The count is part of the snapshot's layout fingerprint, so a change
 * captures a new snapshot.
 */
export function vcpuCount(explicit: number | undefined, accel: Accel, hostCores = availableParallelism()): number {
  return explicit ?? defaultCpuCount(accel, hostCores);
}

function resolveArch(flag: string | undefined, env: EmulatorEnv, host: HostInfo): Arch {
  const raw = flag ?? env.EMULATOR_ARCH ?? host.arch;
  if (raw === 'amd64' || raw === 'arm64') return raw;
  if (raw === undefined)
    throw new EmulatorError(
      'HOST_UNSUPPORTED',
      'cannot pick a guest architecture for this host (neither x64 nor arm64)',
      { hint: 'pass --arch amd64 or --arch arm64' },
    );
  throw new EmulatorError('CONFIG_INVALID', `--arch ${raw} is not supported`, {
    hint: 'use --arch amd64 or --arch arm64',
  });
}

function resolveImage(flag: string | undefined, host: HostInfo): ImageChoice {
  if (flag === undefined || flag === 'stack') return { kind: 'stack' };
  if (flag === 'reference') {
    // Built offline with debootstrap, chroot and mkfs.ext4 -d: Linux only.
    if (host.platform !== 'linux')
      throw new EmulatorError(
        'CONFIG_INVALID',
        `--image reference is built from Debian packages with debootstrap and chroot, which need Linux (this is ${host.platform})`,
        { hint: 'use --image stack (the default), or the path of an image built on Linux' },
      );
    return { kind: 'reference' };
  }
  const path = resolve(flag);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new EmulatorError('IMAGE_MISSING', `--image ${flag}: no such file (${path})`, {
      hint: 'pass stack, reference, or the path of a qcow2 image',
    });
  }
  return { kind: 'path', path };
}

function resolveConfigFile(flag: string | undefined): string | undefined {
  if (flag === undefined) return undefined;
  const path = isAbsolute(flag) ? flag : resolve(flag);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new EmulatorError('CONFIG_FILE_NOT_FOUND', `config file not found: ${path}`, {
      hint: 'create the file (it may be empty) or fix the path given to --config-file',
    });
  }
  return path;
}

/**
 * A value the original spells two ways (`EMULATOR_RAM` and its snapshot VM's `EMULATOR_SNAPSHOT_RAM`,
 * the same VM here): either, or both when they agree.
 */
function alias(
  env: EmulatorEnv,
  name: 'EMULATOR_RAM' | 'EMULATOR_CPUS',
  old: 'EMULATOR_SNAPSHOT_RAM' | 'EMULATOR_SNAPSHOT_CPUS',
): number | undefined {
  const a = env[name];
  const b = env[old];
  if (a !== undefined && b !== undefined && a !== b)
    throw new EmulatorError('CONFIG_INVALID', `${name}=${a} and ${old}=${b} disagree; here the snapshot VM is the VM`, {
      hint: `set one of them (${name})`,
    });
  return a ?? b;
}

function resolveInstance(flag: string | undefined, env: EmulatorEnv): string {
  if (flag !== undefined) return checkInstanceName(flag, '--instance');
  if (env.STACK_EMULATOR_INSTANCE !== undefined)
    return checkInstanceName(env.STACK_EMULATOR_INSTANCE, 'STACK_EMULATOR_INSTANCE');
  return DEFAULT_INSTANCE;
}

/** The variables that set a host port: a user who gives any of them chose the ports. */
const PORT_VARIABLES = [
  'EMULATOR_DASHBOARD_PORT',
  'EMULATOR_BACKEND_PORT',
  'EMULATOR_MINIO_PORT',
  'EMULATOR_INBUCKET_PORT',
  'EMULATOR_MOCK_OAUTH_PORT',
  'STACK_EMULATOR_DASHBOARD_PORT',
  'STACK_EMULATOR_BACKEND_PORT',
  'STACK_EMULATOR_MINIO_PORT',
  'STACK_EMULATOR_INBUCKET_PORT',
  'STACK_EMULATOR_MOCK_OAUTH_PORT',
];

function resolvePortsMode(flag: string | undefined, instance: string, rawEnv: NodeJS.ProcessEnv): 'fixed' | 'auto' {
  if (flag !== undefined && flag !== 'auto' && flag !== 'fixed')
    throw new EmulatorError('CONFIG_INVALID', `--ports ${flag}: give auto or fixed`, {
      hint: '--ports auto chooses free host ports (kept across starts); fixed uses the port variables',
    });
  if (flag) return flag;
  const given = PORT_VARIABLES.some((v) => rawEnv[v] !== undefined && rawEnv[v] !== '');
  return instance !== DEFAULT_INSTANCE && !given ? 'auto' : 'fixed';
}

/** Resolves and validates the configuration; bad values throw {@link EmulatorError} `CONFIG_INVALID`. */
export function resolveConfig(
  flags: StartFlags = {},
  rawEnv: NodeJS.ProcessEnv = process.env,
  host: HostInfo = detectHost(),
): EmulatorConfig {
  let env: EmulatorEnv;
  try {
    env = parseEnv(withCompatPortNames(rawEnv));
  } catch (e) {
    throw new EmulatorError('CONFIG_INVALID', (e as Error).message, {
      hint: 'fix or unset the environment variables named above',
    });
  }
  const ram = alias(env, 'EMULATOR_RAM', 'EMULATOR_SNAPSHOT_RAM');
  const instance = resolveInstance(flags.instance, env);
  const config: EmulatorConfig = {
    paths: withCompatDirs(homeLayout(env.STACK_EMULATOR_HOME ?? defaultHome(), rawEnv, instance), rawEnv),
    instance,
    portsMode: resolvePortsMode(flags.ports, instance, rawEnv),
    force: flags.force === true,
    testMemAvailableMiB: env.STACK_EMULATOR_TEST_MEM_AVAILABLE_MIB,
    host,
    arch: resolveArch(flags.arch, env, host),
    accelOverride: env.EMULATOR_ACCEL,
    memoryMiB: ram ?? 4096,
    cpus: alias(env, 'EMULATOR_CPUS', 'EMULATOR_SNAPSHOT_CPUS'),
    portPrefix: env.PORT_PREFIX ?? '81',
    ports: {
      dashboard: env.EMULATOR_DASHBOARD_PORT,
      backend: env.EMULATOR_BACKEND_PORT,
      minio: env.EMULATOR_MINIO_PORT,
      inbucket: env.EMULATOR_INBUCKET_PORT,
      mockOauth: env.EMULATOR_MOCK_OAUTH_PORT,
    },
    image: resolveImage(flags.image, host),
    // commander's --no-snapshot sets snapshot=false; the environment can only turn things off.
    snapshot: flags.snapshot !== false && !env.EMULATOR_NO_SNAPSHOT,
    snapshotFormat: env.EMULATOR_SNAPSHOT_FORMAT,
    guestNetwork: env.EMULATOR_GUEST_NETWORK,
    ephemeral: flags.ephemeral === true || env.EMULATOR_EPHEMERAL,
    rotation: flags.rotation !== false && !env.EMULATOR_NO_ROTATION,
    forceRotate: flags.rotate === true,
    forceCapture: flags.forceCapture === true || env.EMULATOR_FORCE_CAPTURE,
    configFile: undefined as string | undefined,
    shareRoot: undefined as string | undefined,
    extraShares: [] as readonly ShareRequest[],
    shareWarnings: [] as readonly string[],
    baseEnvFile:
      (flags.baseEnv ?? env.EMULATOR_BASE_ENV) ? resolve(flags.baseEnv ?? env.EMULATOR_BASE_ENV!) : undefined,
    readyTimeoutMs: env.EMULATOR_READY_TIMEOUT * 1000,
    snapshotReadyTimeoutMs: env.EMULATOR_SNAPSHOT_READY_TIMEOUT * 1000,
    stopTimeoutMs: env.EMULATOR_STOP_TIMEOUT * 1000,
    githubApi: env.STACK_EMULATOR_GITHUB_API,
    env: Object.freeze({ ...rawEnv }),
  };
  config.configFile = resolveConfigFile(flags.configFile);
  config.shareRoot = config.configFile
    ? shareRootFor(config.configFile, { home: rawEnv.HOME || homedir(), platform: host.platform })
    : undefined;
  const wide = configuredShares(flags, env.EMULATOR_SHARES, {
    home: rawEnv.HOME || homedir(),
    emulatorHome: config.paths.home,
    platform: host.platform,
    alsoShared: config.shareRoot ? [config.shareRoot] : [],
  });
  config.extraShares = wide.shares;
  config.shareWarnings = wide.warnings;
  checkPorts(config.ports, config.portPrefix);
  // Only a value asked for: the default's 4096 MiB is allocated as the guest touches it.
  if (ram !== undefined && ram > host.memoryMiB)
    throw new EmulatorError(
      'CONFIG_INVALID',
      `EMULATOR_RAM=${config.memoryMiB} (MiB) is more than this host's memory (${host.memoryMiB} MiB)`,
      { hint: `give the guest at most ${host.memoryMiB} MiB, or unset it (4096)` },
    );
  if (config.cpus !== undefined && config.cpus > host.cores)
    throw new EmulatorError(
      'CONFIG_INVALID',
      `EMULATOR_CPUS=${config.cpus} is more than this host's ${host.cores} CPUs`,
      { hint: `give the guest at most ${host.cores}, or unset it` },
    );
  return Object.freeze(config);
}
