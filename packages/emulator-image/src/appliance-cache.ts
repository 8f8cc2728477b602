import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { cacheDir } from './cache-dir.js';
import { ensureBaseImage } from './base-image.js';
import { withBuildLock } from './build-lock.js';
import { type BootFiles, bootFilesDir, extractBootFiles, readBootFiles } from './boot-files.js';
import { pruneCache } from './cache-prune.js';
import { buildAppliance, type BuildApplianceOptions } from './provision.js';

/**
 * sha256 over every file of the appliance directory (paths, modes, bytes), in sorted order, except
 * its top-level README.md: the build never reads it, and a documentation edit must not cost every
 * developer a rebuild of the image.
 */
export function applianceDigest(dir: string, seen: string[] = []): string {
  const h = createHash('sha256');
  // An appliance that extends another is built from both: the other's files are inputs too.
  const base = existsSync(join(dir, 'extends'))
    ? resolve(dir, readFileSync(join(dir, 'extends'), 'utf8').trim())
    : undefined;
  if (base && !seen.includes(base)) h.update(`extends\0${applianceDigest(base, [...seen, dir])}\0`);
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (d === dir && name === 'README.md') continue;
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else
        h.update(`${relative(dir, p)}\0${st.mode & 0o777}\0`)
          .update(readFileSync(p))
          .update('\0');
    }
  };
  walk(dir);
  return h.digest('hex');
}

/** Package version of this builder: a new builder may build differently. */
// Resolved by name, not as ../package.json of this file: the CLI bundles this code into its own dist/.
const BUILDER = (createRequire(import.meta.url)('@stack/emulator-image/package.json') as { version: string }).version;

/**
 * Returns the built image for an appliance, building it when the cache has none for its inputs
 * (appliance files, arch, builder version and the base image it is layered on). A second call with
 * unchanged inputs takes milliseconds.
 */
export async function ensureApplianceImage(
  options: Omit<BuildApplianceOptions, 'output'> & { name?: string },
): Promise<{ image: string; boot: BootFiles; cached: boolean }> {
  const base = await ensureBaseImage({ arch: options.arch, cacheRoot: options.cacheRoot, onPhase: options.onPhase });
  const key = createHash('sha256')
    .update(`${applianceDigest(options.applianceDir)}|${options.arch}|${BUILDER}|${base.key}`)
    .digest('hex')
    .slice(0, 16);
  const name = options.name ?? 'appliance';
  const image = join(options.cacheRoot ?? cacheDir(), 'appliances', `${name}-${options.arch}-${key}.qcow2`);
  const built = () => existsSync(image) && existsSync(`${image}.sha256`);
  if (built()) return { image, boot: readBootFiles(image) ?? (await bootFilesOf(image)), cached: true };
  mkdirSync(dirname(image), { recursive: true });
  return withBuildLock(
    image,
    async () => {
      if (built()) return { image, boot: readBootFiles(image) ?? (await bootFilesOf(image)), cached: true };
      const { boot } = await buildAppliance({ ...options, output: image });
      pruneCache(
        dirname(image),
        new RegExp(`^${name.replace(/[^\w-]/g, '\\$&')}-${options.arch}-[0-9a-f]{16}\\.qcow2$`),
      );
      return { image, boot, cached: false };
    },
    { onWait: () => options.onPhase?.(`${name} image: another process is building it; waiting`) },
  );
}

/** Boot files for an image cached before they were kept beside it: taken out of it once (~1 s). */
async function bootFilesOf(image: string): Promise<BootFiles> {
  const work = mkdtempSync(join(dirname(image), '.boot-files-'));
  try {
    return await extractBootFiles(image, bootFilesDir(image), { log: join(work, 'log'), work });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
