import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BootFiles,
  type DiskBootMode,
  diskBootMode,
  ensureApplianceImage,
  readBootFiles,
  UEFI_FIRMWARE,
} from '@stack/emulator-image';
import type { VmSpecInput } from '@stack/qemu-argv';
import { type Arch, sha256File } from '@stack/internal';
import { parseSha256Sidecar, type Progress } from '@stack/release-fetcher';
import type { EmulatorConfig } from '../config/resolve-config.js';
import type { Op } from '../context/op.js';
import { EmulatorError } from '../errors.js';
import { bootModesCache, digestsCache, readImageCache, writeImageCache } from './image-caches.js';
import { pullImage, stackImagePath } from './pull.js';

export interface ResolvedImage {
  /** Which image: `stack`, `reference` or `path`. */
  kind: EmulatorConfig['image']['kind'];
  path: string;
  /** sha256 of the image file: part of every snapshot's compatibility key. */
  digest: string;
  /** The image's kernel, initrd and command line, kept beside it (`<image>.boot/`), for direct kernel boot. */
  boot: BootFiles | undefined;
  /** amd64 without boot files: whether its disk boots with BIOS boot code (SeaBIOS) or UEFI only (OVMF). */
  bootMode: DiskBootMode | undefined;
  /** This start built (reference appliance) or pulled (Stack image) it first. */
  prepared?: 'built' | 'pulled';
}

/**
 * The reference appliance definition: `STACK_EMULATOR_REFERENCE_APPLIANCE`, else `images/reference`
 * of the repository this package runs from.
 */
function referenceApplianceDir(env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (env.STACK_EMULATOR_REFERENCE_APPLIANCE) return resolve(env.STACK_EMULATOR_REFERENCE_APPLIANCE);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'images', 'reference');
    if (existsSync(join(candidate, 'user-data'))) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

/** Where the image caches' warnings go. */
export interface ImageCacheOptions {
  /** Told when a cache file under images/ is not valid and is rebuilt. @default nothing */
  warn?: (text: string) => void;
}

/** The sha256 in the image's `.sha256` sidecar, when it is no older than the image. */
async function sidecarDigest(path: string, st: { mtimeMs: number }): Promise<string | undefined> {
  const sidecar = `${path}.sha256`;
  if (!existsSync(sidecar) || statSync(sidecar).mtimeMs < st.mtimeMs) return undefined;
  return parseSha256Sidecar(await readFile(sidecar, 'utf8'), basename(path));
}

/** The image's sha256 when it is known without reading the image: its sidecar, or digests.json. */
export async function knownImageDigest(
  config: EmulatorConfig,
  path: string,
  options: ImageCacheOptions = {},
): Promise<string | undefined> {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return undefined;
  return (
    (await sidecarDigest(path, st)) ?? (await readImageCache(digestsCache(config), options.warn))[digestId(path, st)]
  );
}

const digestId = (path: string, st: { size: number; mtimeMs: number; ino: number }) =>
  `${resolve(path)}|${st.size}|${st.mtimeMs}|${st.ino}`;

/**
 * The image's sha256: from a `.sha256` sidecar no older than the image, else computed once and
 * remembered in `images/digests.json` under its path, size, mtime and inode.
 */
export async function imageDigest(
  config: EmulatorConfig,
  path: string,
  options: ImageCacheOptions & { signal?: AbortSignal } = {},
): Promise<string> {
  const st = statSync(path);
  const fromSidecar = await sidecarDigest(path, st);
  if (fromSidecar) return fromSidecar;
  // Callers hold the instance lock, so the file is read once and rewritten whole.
  const cache = digestsCache(config);
  const all = await readImageCache(cache, options.warn);
  const id = digestId(path, st);
  if (all[id]) return all[id];
  const digest = await sha256File(path, options.signal);
  for (const k of Object.keys(all)) if (k.startsWith(`${resolve(path)}|`)) delete all[k];
  all[id] = digest;
  await writeImageCache(cache, all);
  return digest;
}

/** Finds (or, for the reference appliance, builds) the image to run and its digest. */
export async function resolveImage(
  op: Op,
  options: { signal?: AbortSignal; onPhase?: (text: string) => void; onProgress?: (p: Progress) => void } = {},
): Promise<ResolvedImage> {
  const { config } = op;
  const choice = config.image;
  let path: string;
  let boot: BootFiles | undefined;
  let prepared: ResolvedImage['prepared'];
  if (choice.kind === 'reference') {
    const dir = referenceApplianceDir(config.env);
    if (!dir)
      throw new EmulatorError(
        'IMAGE_MISSING',
        'the reference appliance definition (images/reference) was not found next to this CLI',
        { hint: 'set STACK_EMULATOR_REFERENCE_APPLIANCE to its directory' },
      );
    const built = await ensureApplianceImage({
      applianceDir: dir,
      arch: config.arch,
      name: 'reference',
      onPhase: options.onPhase,
    });
    ({ image: path, boot } = built);
    if (!built.cached) prepared = 'built';
  } else if (choice.kind === 'path') {
    path = choice.path;
  } else {
    path = stackImagePath(config);
    if (!existsSync(path)) {
      // As the original: no image yet means pull the latest release (the caller holds the lock).
      options.onPhase?.('no Stack image yet: pulling the latest release');
      try {
        await pullImage(
          op,
          {},
          { locked: true, signal: options.signal, onPhase: options.onPhase, onProgress: options.onProgress },
        );
        prepared = 'pulled';
      } catch (e) {
        if (e instanceof EmulatorError && e.code !== 'INTERRUPTED') {
          throw new EmulatorError('IMAGE_MISSING', `no Stack image at ${path}, and pulling it failed: ${e.message}`, {
            cause: e,
            hint: 'run `stack-emulator pull` (see its options), or use the locally built reference appliance with `--image reference`',
          });
        }
        throw e;
      }
    }
  }
  const warn = (text: string) => op.reporter.warn(text);
  const digest = await imageDigest(config, path, { signal: options.signal, warn });
  boot ??= readBootFiles(path);
  const bootMode =
    config.arch === 'amd64' && !boot
      ? await cachedBootMode(config, path, digest, { signal: options.signal, warn })
      : undefined;
  return { kind: choice.kind, path, digest, boot, bootMode, ...(prepared ? { prepared } : {}) };
}

/** The disk's boot mode, read once per image digest (a qemu-img spawn) and kept in images/boot-modes.json. */
export async function cachedBootMode(
  config: EmulatorConfig,
  path: string,
  digest: string,
  options: ImageCacheOptions & { signal?: AbortSignal } = {},
): Promise<DiskBootMode> {
  const cache = bootModesCache(config);
  const known = await readImageCache(cache, options.warn);
  if (known[digest]) return known[digest];
  const mode = await diskBootMode(path, { signal: options.signal }).catch((e: Error) => {
    throw new EmulatorError('IMAGE_MISSING', `cannot read the boot sector of ${path}: ${e.message}`, {
      cause: e,
      hint: 'check the image file (qemu-img info)',
    });
  });
  await writeImageCache(cache, { ...known, [digest]: mode });
  return mode;
}

/**
 * How the guest boots. amd64 images with boot files beside them: their kernel directly (SeaBIOS and
 * QEMU's linuxboot ROM reach the kernel in ~1 s under TCG; OVMF and the disk's boot loader took 4-5 s).
 * Other amd64 images by what their disk holds: BIOS boot code (the original pipeline's Stack image,
 * which the original always booted with SeaBIOS) gets SeaBIOS, QEMU's default; a UEFI-only disk gets
 * OVMF. arm64: UEFI firmware (AAVMF), where a direct boot would also swap ACPI for a device tree.
 * The choice shows in the layout fingerprint (and the firmware file's identity in the key).
 */
export function guestBoot(
  arch: Arch,
  image: ResolvedImage,
  probedFirmware: string | undefined,
): Pick<VmSpecInput, 'firmware' | 'kernel'> {
  if (arch === 'arm64') return { firmware: probedFirmware };
  if (image.boot) return { kernel: image.boot };
  if (image.bootMode === 'bios') return {};
  const ovmf = UEFI_FIRMWARE.amd64.find((f) => existsSync(f));
  if (!ovmf)
    throw new EmulatorError(
      'HOST_UNSUPPORTED',
      `${image.path} boots with UEFI only, and no OVMF firmware is installed (looked in ${UEFI_FIRMWARE.amd64.join(', ')})`,
      { hint: 'Debian/Ubuntu: apt install ovmf; macOS: brew install qemu' },
    );
  return { firmware: ovmf };
}
