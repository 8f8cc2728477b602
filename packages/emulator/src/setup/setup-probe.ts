import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UEFI_FIRMWARE } from '@stack/emulator-image';
import type { Arch } from '@stack/internal';
import { findArm64Firmware, qemuBinary } from '@stack/qemu-argv';
import { parseOsRelease, type SetupFacts } from './setup-plan.js';

/** The host as setup sees it; {@link realProbeDeps} reads the real one, tests give their own. */
export interface ProbeDeps {
  platform: NodeJS.Platform;
  /** PATH is read from here. */
  env: Readonly<Record<string, string | undefined>>;
  isExecutable(path: string): boolean;
  /** /etc/os-release's text, undefined when there is none. */
  osRelease(): string | undefined;
  /** The guest's UEFI firmware is installed (the files doctor and the boot look for). */
  firmware(arch: Arch): boolean;
  isRoot: boolean;
  isTerminal: boolean;
}

export function realProbeDeps(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform): ProbeDeps {
  return {
    platform,
    env,
    isExecutable: (p) => {
      try {
        accessSync(p, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
    osRelease: () => {
      try {
        return readFileSync('/etc/os-release', 'utf8');
      } catch {
        return undefined;
      }
    },
    // The same places the boot looks: QEMU's firmware descriptors and known files (arm64), OVMF (amd64).
    firmware: (arch) =>
      arch === 'arm64'
        ? findArm64Firmware({ binary: qemuBinary('arm64'), env: { ...env } }) !== undefined
        : UEFI_FIRMWARE.amd64.some((f) => existsSync(f)),
    isRoot: process.getuid?.() === 0,
    isTerminal: Boolean(process.stdin.isTTY && process.stdout.isTTY),
  };
}

/** True when `name` is an executable in one of PATH's directories. */
export function onPath(name: string, deps: Pick<ProbeDeps, 'env' | 'isExecutable'>): boolean {
  return (deps.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && deps.isExecutable(join(dir, name)));
}

/** Reads what the plan needs: the tools on PATH, the firmware, the distribution, root and a terminal. */
export function probeSetupFacts(arch: Arch, deps: ProbeDeps): SetupFacts {
  const has = (name: string) => onPath(name, deps);
  const osRelease = deps.platform === 'linux' ? deps.osRelease() : undefined;
  return {
    platform: deps.platform,
    arch,
    ...(osRelease !== undefined ? { distro: parseOsRelease(osRelease) } : {}),
    present: {
      'qemu-system': has(qemuBinary(arch)),
      'qemu-img': has('qemu-img'),
      firmware: deps.firmware(arch),
      zstd: has('zstd'),
      socat: has('socat'),
    },
    managers: { brew: has('brew'), aptGet: has('apt-get'), sudo: has('sudo') },
    isRoot: deps.isRoot,
    isTerminal: deps.isTerminal,
  };
}
