import { copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildIso, entriesFromDirectory, type IsoEntry, writeIso } from '@stack/iso9660';
import type { Appliance } from './appliance.js';
import type { BaseImage } from './base-image.js';
import { aptInChroot } from './debian-rootfs.js';
import { BuildError } from './errors.js';

/** The bundle trees of an appliance's layers on one disk: a later layer's file replaces an earlier one's. */
export function mergeEntries(layers: IsoEntry[][]): IsoEntry[] {
  const byPath = new Map<string, IsoEntry>();
  for (const layer of layers) {
    for (const e of layer) {
      const prior = byPath.get(e.path);
      if (prior && (prior.type === 'directory') !== (e.type === 'directory'))
        throw new BuildError(
          'IMAGE_INVALID_APPLIANCE',
          `bundle path ${e.path} is a ${prior.type} in one layer and a ${e.type} in another`,
        );
      byPath.set(e.path, prior?.type === 'directory' ? prior : e);
    }
  }
  return [...byPath.values()];
}

async function fetchDebs(base: BaseImage, packages: string[], dest: string, log: string): Promise<string[]> {
  if (packages.length === 0) return [];
  // Resolved and downloaded inside the base image's own tree, so dependencies match the guest's suite;
  // the archive dir persists there, so a rebuild reuses what it fetched.
  const archive = '/var/cache/stack-bundle-debs';
  mkdirSync(join(base.rootfs, archive, 'partial'), { recursive: true });
  await aptInChroot(base.rootfs, log, ['update']);
  await aptInChroot(base.rootfs, log, [
    'install',
    '--download-only',
    '-o',
    `Dir::Cache::archives=${archive}`,
    ...packages,
  ]);
  mkdirSync(dest, { recursive: true });
  const debs = readdirSync(join(base.rootfs, archive))
    .filter((f) => f.endsWith('.deb'))
    .sort();
  for (const d of debs) copyFileSync(join(base.rootfs, archive, d), join(dest, d));
  return debs;
}

function runtimeEnv(): string {
  // The build boots with the defaults; the emulator writes the real values at every start.
  return [
    'STACK_EMULATOR_PORT_PREFIX=81',
    'STACK_EMULATOR_DASHBOARD_HOST_PORT=26700',
    'STACK_EMULATOR_BACKEND_HOST_PORT=26701',
    'STACK_EMULATOR_MINIO_HOST_PORT=26702',
    'STACK_EMULATOR_INBUCKET_HOST_PORT=26703',
    'STACK_EMULATOR_MOCK_OAUTH_HOST_PORT=26704',
    'STACK_EMULATOR_VM_DIR_HOST=',
    '',
  ].join('\n');
}

/** The disks of a provisioning boot, in the work directory. */
export interface BuildDisks {
  seed: string;
  bundle: string;
  config: string;
}

/**
 * Writes the provisioning boot's disks into `work`: the `cidata` seed (user-data, meta-data), the
 * `STACKBUNDLE` bundle (the layers' bundle trees and the `.deb` files of their packages, resolved in
 * the base image's tree) and a `STACKCFG` config disk with build defaults.
 */
export async function writeBuildDisks(
  appliance: Appliance,
  base: BaseImage,
  options: { work: string; log: string; onPhase: (phase: string) => void },
): Promise<BuildDisks> {
  const { work, log, onPhase } = options;
  const packages = appliance.packages;
  onPhase(`packages: ${packages.length ? packages.join(', ') : 'none'}`);
  const debs = await fetchDebs(base, packages, join(work, 'debs'), log);

  onPhase('seed, bundle and config disks');
  const date = new Date(Number(process.env.SOURCE_DATE_EPOCH ?? 0) * 1000 || Date.now());
  const disks = { seed: join(work, 'seed.iso'), bundle: join(work, 'bundle.iso'), config: join(work, 'config.iso') };
  writeFileSync(
    disks.seed,
    await buildIso(
      [
        { type: 'file', path: 'user-data', data: appliance.userData },
        { type: 'file', path: 'meta-data', data: appliance.metaData },
      ],
      { volumeId: 'cidata', date },
    ),
  );
  const bundleEntries = mergeEntries(await Promise.all(appliance.bundleDirs.map((d) => entriesFromDirectory(d))));
  for (const d of debs)
    bundleEntries.push({
      type: 'file',
      path: `debs/${d}`,
      data: { size: statSync(join(work, 'debs', d)).size, path: join(work, 'debs', d) },
    });
  await writeIso(bundleEntries, disks.bundle, {
    volumeId: 'STACKBUNDLE',
    rockRidge: true,
    date,
    fsync: false,
  });
  writeFileSync(
    disks.config,
    await buildIso(
      [
        { type: 'file', path: 'runtime.env', data: runtimeEnv() },
        { type: 'file', path: 'base.env', data: '' },
      ],
      { volumeId: 'STACKCFG', date },
    ),
  );
  return disks;
}
