import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { z } from 'zod';

/** aarch64 UEFI firmware where packages put it, when no descriptor names one. */
export const ARM64_FIRMWARE_CANDIDATES = [
  '/opt/homebrew/share/qemu/edk2-aarch64-code.fd', // Homebrew, Apple Silicon
  '/usr/local/share/qemu/edk2-aarch64-code.fd', // Homebrew, Intel; QEMU built from source
  '/opt/local/share/qemu/edk2-aarch64-code.fd', // MacPorts
  '/usr/share/qemu/edk2-aarch64-code.fd',
  '/usr/share/AAVMF/AAVMF_CODE.fd', // Debian, Ubuntu
  '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd', // Debian, Ubuntu (older)
  '/usr/share/edk2/aarch64/QEMU_EFI.fd', // Fedora
] as const;

/** Where QEMU's firmware descriptors live (docs/interop/firmware.json), lowest priority first. */
export function firmwareDescriptorDirs(binaryPath: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = [
    '/usr/share/qemu/firmware',
    '/usr/local/share/qemu/firmware',
    '/opt/homebrew/share/qemu/firmware',
    '/opt/local/share/qemu/firmware',
    '/run/current-system/sw/share/qemu/firmware',
  ];
  // The QEMU being run knows its own prefix (Nix store paths, Homebrew Cellar, a build from source).
  if (binaryPath) dirs.push(join(dirname(dirname(binaryPath)), 'share', 'qemu', 'firmware'));
  dirs.push(
    '/etc/qemu/firmware',
    join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'qemu', 'firmware'),
  );
  return [...new Set(dirs)];
}

/**
 * The fields of a QEMU firmware descriptor (docs/interop/firmware.json) this reads. Loose: descriptors
 * carry more (description, tags, nvram-template), and a newer QEMU may add fields.
 */
const firmwareDescriptorSchema = z
  .object({
    'interface-types': z.array(z.string()).optional(),
    mapping: z
      .object({
        device: z.string().optional(),
        executable: z.object({ filename: z.string().optional(), format: z.string().optional() }).loose().optional(),
        filename: z.string().optional(),
      })
      .loose()
      .optional(),
    targets: z
      .array(z.object({ architecture: z.string().optional(), machines: z.array(z.string()).optional() }).loose())
      .optional(),
    features: z.array(z.string()).optional(),
  })
  .loose();

/** Features that need more than `-bios <file>` and an empty varstore. */
const UNWANTED = ['secure-boot', 'enrolled-keys', 'requires-smm', 'amd-sev-es', 'amd-sev-snp', 'intel-tdx'];

const glob = (pattern: string, s: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(s);

/**
 * Sans-I/O: the firmware file a descriptor offers for `architecture` (`aarch64`) on a machine type
 * (`virt-9.2`), or undefined when it does not fit (not UEFI, another architecture or machine, Secure
 * Boot or SMM, not a raw flash image). A descriptor that is not JSON or not of the documented shape
 * offers nothing: it is the system's, not ours to fix, and the next descriptor or a known place is
 * tried (a wrong shape used to crash the search, or a string `interface-types` passed for a list).
 */
export function firmwareFromDescriptor(
  text: string,
  want: { architecture: string; machine: string },
): string | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = firmwareDescriptorSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const d = parsed.data;
  if (!d['interface-types']?.includes('uefi')) return undefined;
  if (
    !d.targets?.some(
      (t) => t.architecture === want.architecture && (t.machines ?? []).some((m) => glob(m, want.machine)),
    )
  )
    return undefined;
  if (d.features?.some((f) => UNWANTED.includes(f))) return undefined;
  const m = d.mapping;
  if (m?.device === 'flash' && m.executable?.filename && (m.executable.format ?? 'raw') === 'raw')
    return m.executable.filename;
  if (m?.device === 'memory' && m.filename) return m.filename;
  return undefined;
}

export interface FindFirmwareOptions {
  /** The QEMU binary in use (its prefix holds descriptors too). */
  binary?: string;
  env?: NodeJS.ProcessEnv;
  /** @default node:fs */
  fs?: {
    readdir(dir: string): string[];
    readFile(path: string): string;
    exists(path: string): boolean;
    realpath(path: string): string;
  };
  /** Fallback files, tried in order. @default ARM64_FIRMWARE_CANDIDATES */
  candidates?: readonly string[];
}

const nodeFs = {
  readdir: (d: string) => readdirSync(d),
  readFile: (p: string) => readFileSync(p, 'utf8'),
  exists: (p: string) => existsSync(p),
  realpath: (p: string) => realpathSync(p),
};

function which(binary: string, env: NodeJS.ProcessEnv, fs: NonNullable<FindFirmwareOptions['fs']>): string | undefined {
  if (binary.includes('/')) return fs.exists(binary) ? fs.realpath(binary) : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const p = join(dir, binary);
    if (dir && fs.exists(p)) return fs.realpath(p);
  }
  return undefined;
}

/**
 * The aarch64 UEFI firmware for `-bios`: from QEMU's firmware descriptors first (the way libvirt
 * finds it: Debian, Fedora, Homebrew, MacPorts and Nix all ship them), in QEMU's order (by file
 * name; a later directory's file of the same name replaces an earlier one), else the first
 * existing file of a list of known places.
 */
export function findArm64Firmware(options: FindFirmwareOptions = {}): string | undefined {
  const fs = options.fs ?? nodeFs;
  const env = options.env ?? process.env;
  const byName = new Map<string, string>();
  const binaryPath = options.binary ? which(options.binary, env, fs) : undefined;
  for (const dir of firmwareDescriptorDirs(binaryPath, env)) {
    let names: string[];
    try {
      names = fs.readdir(dir);
    } catch {
      continue;
    }
    for (const n of names.filter((f) => f.endsWith('.json'))) byName.set(n, join(dir, n));
  }
  for (const name of [...byName.keys()].sort()) {
    let text: string;
    try {
      text = fs.readFile(byName.get(name)!);
    } catch {
      continue;
    }
    const file = firmwareFromDescriptor(text, { architecture: 'aarch64', machine: 'virt-9.0' });
    if (file && fs.exists(file)) return file;
  }
  return (options.candidates ?? ARM64_FIRMWARE_CANDIDATES).find((c) => fs.exists(c)) ?? undefined;
}
