import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pruneCache } from './cache-prune.js';
import { cacheDir } from './cache-dir.js';
import { type BuildSeams, realBuildSeams } from './build-seams.js';
import { BASE_PACKAGES, buildRootfs, hostMirror, kernelPackage } from './debian-rootfs.js';
import { withBuildLock } from './build-lock.js';
import { makeBootableDisk, ROOT_GIB } from './disk-image.js';
import { kernelCommandLine } from './kernel-cmdline.js';
import { refuseIfMounted, unmountAllUnder } from './tree-mounts.js';
import { type Arch, renameDurably } from '@stack/internal';

/** Bump when the way the base image is made changes: it is part of the cache key. */
const RECIPE = 10;

export interface BaseImage {
  /** The bootable qcow2 (Debian 13, kernel, systemd, cloud-init, qemu-guest-agent, systemd-boot). */
  qcow2: string;
  /** The tree it was made from: a chroot for fetching appliance packages and checking cloud-init files. */
  rootfs: string;
  key: string;
  cached: boolean;
}

export interface BaseImageOptions {
  arch: Arch;
  /** @default "trixie" (Debian 13) */
  suite?: string;
  /** @default the mirror of the host's apt sources */
  mirror?: string;
  /** @default ~/.cache/stack-emulator */
  cacheRoot?: string;
  onPhase?: (phase: string) => void;
}

/**
 * Returns the base image, building it offline from Debian packages when the cache has none for these
 * inputs (suite, arch, packages, recipe). A build goes to a temp directory renamed into place.
 */
export async function ensureBaseImage(options: BaseImageOptions): Promise<BaseImage> {
  const suite = options.suite ?? 'trixie';
  const inputs = {
    recipe: RECIPE,
    suite,
    arch: options.arch,
    packages: [kernelPackage(options.arch), ...BASE_PACKAGES],
    rootGiB: ROOT_GIB,
    // The loader entry's command line is baked in: a change to it must not reuse an older build.
    cmdline: kernelCommandLine(options.arch),
  };
  const key = createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16);
  const dir = join(options.cacheRoot ?? cacheDir(), 'base-images', `debian-${suite}-${options.arch}-${key}`);
  const result = { qcow2: join(dir, 'base.qcow2'), rootfs: join(dir, 'rootfs'), key };
  if (existsSync(join(dir, 'inputs.json'))) return { ...result, cached: true };
  mkdirSync(dirname(dir), { recursive: true });
  return withBuildLock(
    dir,
    async () => {
      // Another process may have built it while this one waited for the lock.
      if (existsSync(join(dir, 'inputs.json'))) return { ...result, cached: true };
      await buildBase(dir, inputs, options);
      return { ...result, cached: false };
    },
    { onWait: () => options.onPhase?.('base image: another process is building it; waiting') },
  );
}

/**
 * Builds the base image in `${dir}.tmp-<pid>` and renames it to `dir`. Every mount the build left in
 * its tree is gone before the rename, and before the temp directory is removed after a failure;
 * else the tree stays where it is and the build fails naming the mounts. Exported for unit tests.
 */
export async function buildBase(
  dir: string,
  inputs: { suite: string; arch: Arch } & Record<string, unknown>,
  options: BaseImageOptions,
  seams: BuildSeams = realBuildSeams,
): Promise<void> {
  const suite = inputs.suite;
  const tmp = `${dir}.tmp-${process.pid}`;
  refuseIfMounted(tmp, seams.readMountInfo, "not removing an earlier build's temp directory");
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const log = join(tmp, 'build.log');
  writeFileSync(log, '');
  try {
    options.onPhase?.('base image: debootstrap and packages');
    await buildRootfs(
      join(tmp, 'rootfs'),
      { arch: options.arch, suite, mirror: options.mirror ?? process.env.EMULATOR_DEBIAN_MIRROR ?? hostMirror(), log },
      seams,
    );
    options.onPhase?.('base image: bootable disk');
    mkdirSync(join(tmp, 'work'));
    await makeBootableDisk(
      join(tmp, 'rootfs'),
      join(tmp, 'base.qcow2'),
      { arch: options.arch, work: join(tmp, 'work'), log },
      seams,
    );
    rmSync(join(tmp, 'work'), { recursive: true, force: true });
    // Each chroot step unmounted its tree already; the table has the last word before it is named.
    await unmountAllUnder(tmp, seams, log);
    writeFileSync(join(tmp, 'inputs.json'), `${JSON.stringify(inputs, null, 2)}\n`);
    // inputs.json marks the base as built: everything is on the disk before the directory is named,
    // or a power cut could leave a cached base with a torn disk or chroot, used forever after. The
    // chroot's thousands of files take one syncfs (`sync -f`; base builds are Linux-only).
    await seams.run('sync', ['-f', tmp], { log });
    refuseIfMounted(dir, seams.readMountInfo, 'not replacing the base image directory');
    rmSync(dir, { recursive: true, force: true });
    await renameDurably(tmp, dir);
  } catch (e) {
    const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '';
    // rm -rf of a tree with mounts left under it would walk into them (the host's /proc): kept instead.
    const left = await unmountAllUnder(tmp, seams, log).then(
      () => undefined,
      (m: Error) => m,
    );
    if (!left) rmSync(tmp, { recursive: true, force: true });
    const kept = left ? `\n${tmp} was kept, not removed: ${left.message}` : '';
    throw Object.assign(e as Error, {
      message: `${(e as Error).message}${kept}\n--- last lines of the base image build log ---\n${tail}`,
    });
  }
  // Out of the try: an older base that cannot be removed (mounts under it) fails this call, but the
  // new base is in place and the next call uses it.
  pruneCache(dirname(dir), new RegExp(`^debian-${suite}-${options.arch}-[0-9a-f]{16}$`), 2, seams.readMountInfo);
}

/**
 * The kernel of a base image already in the cache for `arch` (any suite or key), without building
 * one: a kernel to test a hardware accelerator with when an image brings none of its own.
 */
export function cachedBaseKernel(arch: Arch, cacheRoot: string = cacheDir()): string | undefined {
  const root = join(cacheRoot, 'base-images');
  const dirs = existsSync(root)
    ? readdirSync(root)
        .filter((d) => d.startsWith('debian-') && d.includes(`-${arch}-`))
        .sort()
    : [];
  for (const d of dirs) {
    const k = rootfsKernel(join(root, d, 'rootfs'));
    if (k && existsSync(join(root, d, 'base.qcow2'))) return k;
  }
  return undefined;
}

/** The kernel installed in a root file system tree (`/boot/vmlinuz-*`), if any. */
export function rootfsKernel(rootfs: string): string | undefined {
  const boot = join(rootfs, 'boot');
  const name = existsSync(boot) ? readdirSync(boot).find((f) => f.startsWith('vmlinuz-')) : undefined;
  return name ? join(boot, name) : undefined;
}
