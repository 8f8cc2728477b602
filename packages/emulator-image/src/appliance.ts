import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** An appliance definition: the cloud-init seed and the payload for the bundle disk. */
export interface Appliance {
  dir: string;
  /** `user-data`: must start with `#cloud-config` (or be a `#!` script). */
  userData: string;
  /** `meta-data`: NoCloud metadata (instance-id, local-hostname). */
  metaData: string;
  /** Directory whose tree becomes the STACKBUNDLE disk, when the appliance has one. */
  bundleDir: string | undefined;
}

/** Loads and checks an appliance directory, naming the missing or bad file and what it must hold. */
export async function loadAppliance(dir: string): Promise<Appliance> {
  const abs = resolve(dir);
  const st = await stat(abs).catch(() => undefined);
  if (!st?.isDirectory()) throw new Error(`appliance directory not found: ${abs}`);
  const read = async (name: string) => {
    try {
      return await readFile(join(abs, name), 'utf8');
    } catch {
      throw new Error(`appliance ${abs} has no ${name}; add a NoCloud ${name} file (see images/reference)`);
    }
  };
  const userData = await read('user-data');
  if (!/^(#cloud-config|#!)/.test(userData)) throw new Error(`${join(abs, 'user-data')} must start with "#cloud-config" or "#!"`);
  const metaData = await read('meta-data');
  if (!/^instance-id:/m.test(metaData)) throw new Error(`${join(abs, 'meta-data')} must set instance-id`);
  const bundle = join(abs, 'bundle');
  const hasBundle = await readdir(bundle).then(() => true, () => false);
  return { dir: abs, userData, metaData, bundleDir: hasBundle ? bundle : undefined };
}
