import type { Arch } from '@stack/internal';

/** The host tools `stack-emulator setup` checks (the runtime's; tools/setup-host adds the build's and tests'). */
type SetupTool = 'qemu-system' | 'qemu-img' | 'firmware' | 'zstd' | 'socat';

/** What the plan is made from: all read by setup-probe.ts, or given by a test. */
export interface SetupFacts {
  platform: NodeJS.Platform;
  /** The guest architecture the emulator will run (the host's unless --arch / EMULATOR_ARCH). */
  arch: Arch;
  /** /etc/os-release's ID and ID_LIKE (Linux), lowercased. */
  distro?: { id: string; idLike: string[] };
  /** Which tools are present (firmware: the guest's UEFI firmware file). */
  present: Record<SetupTool, boolean>;
  /** Package managers and sudo on PATH. */
  managers: { brew: boolean; aptGet: boolean; sudo: boolean };
  isRoot: boolean;
  /** stdin and stdout are a terminal: a person can be asked before anything is installed. */
  isTerminal: boolean;
}

export interface MissingTool {
  tool: SetupTool;
  /** What it is for. */
  why: string;
  /** Without it no start works (QEMU, qemu-img, arm64 firmware); the others lose a feature. */
  required: boolean;
}

export interface SetupPlan {
  missing: MissingTool[];
  /** The package manager the commands use. */
  manager?: 'brew' | 'apt-get';
  /** The packages to install, in the manager's names. */
  packages: string[];
  /** The commands that install them, each an argv (with sudo when not root). */
  commands: string[][];
  /** Why no commands can be given (no Homebrew, an unknown distribution, no sudo), with what to do. */
  blocked?: string;
  /** Missing tools, commands to run, and a person at a terminal to ask first. */
  ask: boolean;
}

const WHY: Record<SetupTool, string> = {
  'qemu-system': 'runs the VM',
  'qemu-img': 'creates the disk overlays',
  firmware: 'UEFI firmware the guest boots with',
  zstd: 'compresses snapshots for storage (without it they stay uncompressed)',
  socat: "used by the original stack emulator's scripts; stack-emulator runs without it",
};

/** Debian/Ubuntu package names per tool and guest architecture. */
function aptPackage(tool: SetupTool, arch: Arch): string {
  if (tool === 'qemu-system') return arch === 'amd64' ? 'qemu-system-x86' : 'qemu-system-arm';
  if (tool === 'qemu-img') return 'qemu-utils';
  if (tool === 'firmware') return arch === 'amd64' ? 'ovmf' : 'qemu-efi-aarch64';
  return tool;
}

/** Homebrew: its qemu carries the system emulators, qemu-img and the edk2 firmware. */
function brewPackage(tool: SetupTool): string {
  return tool === 'qemu-system' || tool === 'qemu-img' || tool === 'firmware' ? 'qemu' : tool;
}

/** Reads /etc/os-release text: ID and ID_LIKE. */
export function parseOsRelease(text: string): { id: string; idLike: string[] } {
  const value = (key: string) =>
    new RegExp(`^${key}=(.*)$`, 'm')
      .exec(text)?.[1]
      ?.trim()
      .replace(/^["']|["']$/g, '')
      .toLowerCase() ?? '';
  return { id: value('ID'), idLike: value('ID_LIKE').split(/\s+/).filter(Boolean) };
}

const isDebianLike = (d: SetupFacts['distro']) =>
  d !== undefined && [d.id, ...d.idLike].some((x) => x === 'debian' || x === 'ubuntu');

/**
 * What is missing and the commands that install it: Homebrew on macOS, apt-get on Debian and Ubuntu
 * (with sudo when not root). Pure: the facts come from setup-probe.ts.
 */
export function planSetup(facts: SetupFacts): SetupPlan {
  const tools: SetupTool[] = ['qemu-system', 'qemu-img', 'firmware', 'zstd', 'socat'];
  const missing = tools
    .filter((t) => !facts.present[t])
    .map((tool) => ({
      tool,
      why: tool === 'firmware' && facts.arch === 'amd64' ? 'OVMF, for images that boot with UEFI only' : WHY[tool],
      // amd64 images boot with SeaBIOS or their kernel unless they are UEFI-only; arm64 always needs UEFI.
      required: tool === 'qemu-system' || tool === 'qemu-img' || (tool === 'firmware' && facts.arch === 'arm64'),
    }));
  const none: SetupPlan = { missing, packages: [], commands: [], ask: false };
  if (missing.length === 0) return none;
  if (facts.platform === 'darwin') {
    const packages = [...new Set(missing.map((m) => brewPackage(m.tool)))];
    if (!facts.managers.brew)
      return {
        ...none,
        manager: 'brew',
        packages,
        blocked: `Homebrew is not installed: install it (https://brew.sh), then run \`stack-emulator setup\` again (it will run: brew install ${packages.join(' ')})`,
      };
    const commands = [['brew', 'install', ...packages]];
    return { missing, manager: 'brew', packages, commands, ask: facts.isTerminal };
  }
  if (facts.platform === 'linux' && isDebianLike(facts.distro)) {
    const packages = [...new Set(missing.map((m) => aptPackage(m.tool, facts.arch)))];
    if (!facts.managers.aptGet)
      return {
        ...none,
        manager: 'apt-get',
        packages,
        blocked: `apt-get is not on PATH; install: ${packages.join(' ')}`,
      };
    if (!facts.isRoot && !facts.managers.sudo)
      return {
        ...none,
        manager: 'apt-get',
        packages,
        blocked: `installing needs root and sudo is not installed: as root, run apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`,
      };
    const sudo = facts.isRoot ? [] : ['sudo'];
    const commands = [
      [...sudo, 'apt-get', 'update'],
      [...sudo, 'apt-get', 'install', '-y', '--no-install-recommends', ...packages],
    ];
    return { missing, manager: 'apt-get', packages, commands, ask: facts.isTerminal };
  }
  const what = missing.map((m) => (m.tool === 'qemu-system' ? `QEMU (qemu-system for ${facts.arch})` : m.tool));
  return {
    ...none,
    blocked: `no install commands for ${facts.platform === 'linux' ? (facts.distro?.id ?? 'this Linux distribution') : facts.platform}: install ${what.join(', ')} with its package manager (QEMU 7.2 or newer)`,
  };
}

/** What `pull` needs before it downloads: the tools without which the image cannot run here. */
export function missingForPull(plan: SetupPlan): MissingTool[] {
  return plan.missing.filter((m) => m.tool === 'qemu-system' || m.tool === 'qemu-img');
}
