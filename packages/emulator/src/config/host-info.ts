import { availableParallelism, totalmem } from 'node:os';
import { type Arch, readSysctl } from '@stack/internal';

/** The machine the CLI runs on, read once (injectable, so every platform branch is tested anywhere). */
export interface HostInfo {
  platform: NodeJS.Platform;
  /** The machine's architecture as a guest architecture; undefined when neither amd64 nor arm64. */
  arch: Arch | undefined;
  /** Node is an x64 build running under Rosetta 2 on Apple Silicon: the machine itself is arm64. */
  rosetta: boolean;
  /** Logical CPUs (the most vCPUs worth giving a guest). */
  cores: number;
  /** Physical memory in MiB (the most RAM a guest can be given). */
  memoryMiB: number;
}

export interface HostInfoOptions {
  /** @default process.platform */
  platform?: NodeJS.Platform;
  /** Node's own architecture. @default process.arch */
  arch?: string;
  /** Reads a sysctl value on macOS; undefined when it does not exist. @default sysctl -n */
  sysctl?: (name: string) => string | undefined;
  /** @default os.availableParallelism() */
  cores?: number;
  /** @default os.totalmem() in MiB */
  memoryMiB?: number;
}

/**
 * The host. An x64 Node under Rosetta reports `x64`, which would pick an amd64 guest under TCG (ten
 * times slower) on a Mac that runs arm64 guests under HVF: `sysctl.proc_translated` tells (1 when
 * translated), and the machine's real architecture is used.
 */
export function detectHost(options: HostInfoOptions = {}): HostInfo {
  const platform = options.platform ?? process.platform;
  const nodeArch = options.arch ?? process.arch;
  const rosetta =
    platform === 'darwin' && nodeArch === 'x64' && (options.sysctl ?? readSysctl)('sysctl.proc_translated') === '1';
  const arch: Arch | undefined = rosetta || nodeArch === 'arm64' ? 'arm64' : nodeArch === 'x64' ? 'amd64' : undefined;
  return {
    platform,
    arch,
    rosetta,
    cores: options.cores ?? availableParallelism(),
    memoryMiB: options.memoryMiB ?? Math.floor(totalmem() / 1048576),
  };
}
