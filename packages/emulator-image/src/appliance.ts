import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BuildError } from './errors.js';

/** An appliance definition: the cloud-init seed and the payload for the bundle disk. */
export interface Appliance {
  dir: string;
  /** `user-data`: must start with `#cloud-config` (or be a `#!` script). */
  userData: string;
  /** `meta-data`: NoCloud metadata (instance-id, local-hostname). */
  metaData: string;
  /** Directory whose tree becomes the STACKBUNDLE disk, when the appliance has one. */
  bundleDir: string | undefined;
  /**
   * Every bundle directory, the extended appliance's first: their trees are merged onto one disk, a
   * later file replacing an earlier one of the same path. `[bundleDir]` for an appliance that
   * extends none.
   */
  bundleDirs: string[];
  /** Debian packages of `packages.txt`, the extended appliance's first. */
  packages: string[];
  /** The appliance directories it is made of (itself last): all of them are its build inputs. */
  layers: string[];
}

/** The packages of a `packages.txt` (one per line, `#` comments), none when there is no file. */
async function readPackages(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, 'packages.txt'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

/**
 * The appliance an `extends` file names (a path relative to the appliance, e.g. `../reference`):
 * its bundle and packages come first, this one's on top; its user-data and meta-data are not used,
 * so a layer that is only ever extended (images/contract) needs none.
 */
async function extended(abs: string, seen: string[]): Promise<Appliance | undefined> {
  const text = await readFile(join(abs, 'extends'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const base = resolve(abs, text.trim());
  if (seen.includes(base))
    throw new BuildError(
      'IMAGE_INVALID_APPLIANCE',
      `appliance ${abs} extends ${base}, which extends it back (${[...seen, base].join(' -> ')})`,
    );
  return loadLayered(base, [...seen, abs], true);
}

/** Loads and checks an appliance directory, naming the missing or bad file and what it must hold. */
export async function loadAppliance(dir: string): Promise<Appliance> {
  return loadLayered(resolve(dir), []);
}

async function loadLayered(abs: string, seen: string[], asBase = false): Promise<Appliance> {
  const st = await stat(abs).catch(() => undefined);
  if (!st?.isDirectory()) throw new BuildError('IMAGE_INVALID_APPLIANCE', `appliance directory not found: ${abs}`);
  const read = async (name: string) => {
    try {
      return await readFile(join(abs, name), 'utf8');
    } catch {
      throw new BuildError(
        'IMAGE_INVALID_APPLIANCE',
        `appliance ${abs} has no ${name}; add a NoCloud ${name} file (see images/reference)`,
      );
    }
  };
  const own = async (name: string) => (asBase ? readFile(join(abs, name), 'utf8').catch(() => '') : read(name));
  const userData = await own('user-data');
  if (!asBase && !/^(#cloud-config|#!)/.test(userData))
    throw new BuildError(
      'IMAGE_INVALID_APPLIANCE',
      `${join(abs, 'user-data')} must start with "#cloud-config" or "#!"`,
    );
  const metaData = await own('meta-data');
  if (!asBase && !/^instance-id:/m.test(metaData))
    throw new BuildError('IMAGE_INVALID_APPLIANCE', `${join(abs, 'meta-data')} must set instance-id`);
  const bundle = join(abs, 'bundle');
  const hasBundle = await readdir(bundle).then(
    () => true,
    () => false,
  );
  const base = await extended(abs, seen);
  const ownBundle = hasBundle ? [bundle] : [];
  return {
    dir: abs,
    userData,
    metaData,
    bundleDir: hasBundle ? bundle : undefined,
    bundleDirs: [...(base?.bundleDirs ?? []), ...ownBundle],
    packages: [...new Set([...(base?.packages ?? []), ...(await readPackages(abs))])],
    layers: [...(base?.layers ?? []), abs],
  };
}
