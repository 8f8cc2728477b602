import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { cacheDir } from '@stack/emulator-image';
import { formatQemuVersion, hostIdentity, probeHost } from '@stack/qemu-argv';
import { SnapshotCache } from '@stack/snapshot-cache';
import type { Op } from '../context/op.js';
import { imageDigest } from '../image/image.js';
import { originalSnapshotFiles } from '../session/legacy-home.js';
import { sessionStore } from '../session/store.js';
import { allocatedBytes } from './disk-full.js';
import { lockInstance } from './instance.js';
import { instanceNames } from './instances.js';
import { homeLayout } from '../config/paths.js';

/** Something of the home that nothing will use again, and what removing it frees. */
export interface PruneItem {
  path: string;
  /** Allocated bytes removing it frees (files linked elsewhere too are not counted). */
  bytes: number;
  /** What it is and why nothing needs it. */
  why: string;
}

const short = (id: string) => id.slice(0, 8);

/** The digests of every image still in place: the home's, the built appliances', and every instance's session's. */
async function liveImageDigests(op: Op): Promise<Set<string>> {
  const { config } = op;
  const digests = new Set<string>();
  // Every instance's session: a named instance's may be pinned to an image the default one left.
  for (const name of await instanceNames(config.paths)) {
    // Only the session's files are read; their paths do not depend on the socket directory (the env).
    const paths = name === config.instance ? config.paths : homeLayout(config.paths.home, {}, name);
    const session = await sessionStore({ ...config, paths }).read();
    if (session) digests.add(session.image.digest);
  }
  const dirs = [config.paths.images, join(cacheDir(config.env), 'appliances')];
  for (const dir of dirs)
    for (const name of await readdir(dir).catch(() => [] as string[]))
      if (name.endsWith('.qcow2'))
        digests.add(
          await imageDigest(config, join(dir, name), { signal: op.signal, warn: (t) => op.reporter.warn(t) }),
        );
  return digests;
}

/** Older builds of each appliance in the user cache (the newest build of each name and arch is kept). */
async function supersededAppliances(op: Op): Promise<PruneItem[]> {
  const dir = join(cacheDir(op.config.env), 'appliances');
  const builds = new Map<string, Array<{ name: string; mtime: number }>>();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = /^(.+-(?:amd64|arm64))-[0-9a-f]{16}\.qcow2$/.exec(name);
    if (!m) continue;
    const st = await stat(join(dir, name));
    builds.set(m[1]!, [...(builds.get(m[1]!) ?? []), { name, mtime: st.mtimeMs }]);
  }
  const out: PruneItem[] = [];
  for (const [appliance, all] of builds) {
    for (const old of all.sort((a, b) => b.mtime - a.mtime).slice(1)) {
      for (const suffix of ['', '.boot', '.log', '.sha256']) {
        const path = join(dir, old.name + suffix);
        if (existsSync(path))
          out.push({ path, bytes: await allocatedBytes(path), why: `an older build of the ${appliance} appliance` });
      }
    }
  }
  return out;
}

/**
 * What `prune` would remove, with what each frees: quarantined and unusable snapshots; snapshots of
 * images no longer in place, of another QEMU than the installed one, or of another host kernel (KVM);
 * sessions set aside as unreadable; older appliance builds; the original tool's snapshot files. Never
 * the session, the newest image of anything, nor a snapshot this host would resume.
 */
export async function findPrunable(
  op: Op,
  options: {
    /** The installed QEMU's version ("10.0.2"), undefined when there is none. @default probed */
    qemuVersion?: () => Promise<string | undefined>;
  } = {},
): Promise<PruneItem[]> {
  const { config } = op;
  const out: PruneItem[] = [];
  const live = await liveImageDigests(op);
  const qemu = await (
    options.qemuVersion ??
    (() =>
      probeHost(config.arch).then(
        (p) => formatQemuVersion(p.version),
        () => undefined,
      ))
  )();
  const os = hostIdentity({ platform: config.host.platform }).os;
  for (const item of await new SnapshotCache(config.paths.snapshots).inventory()) {
    const id = short(item.id);
    const why =
      item.state === 'quarantined'
        ? `snapshot ${id}, quarantined (${item.quarantined?.reason ?? 'no reason kept'})`
        : item.state === 'garbled'
          ? `snapshot directory ${id}, unusable (no valid meta.json)`
          : item.state !== 'ready' || !item.key
            ? undefined
            : item.imageDigest && !live.has(item.imageDigest)
              ? `snapshot ${id}, of an image no longer in place (sha256 ${item.imageDigest.slice(0, 12)})`
              : qemu && item.key.qemuVersion !== qemu
                ? `snapshot ${id}, of QEMU ${item.key.qemuVersion} (this host has ${qemu})`
                : item.key.host && item.key.host.os !== os
                  ? `snapshot ${id}, of another host kernel (${item.key.host.os})`
                  : undefined;
    if (why) out.push({ path: item.dir, bytes: item.size, why });
  }
  for (const name of await readdir(config.paths.home).catch(() => [] as string[]))
    if (name.startsWith(`${basename(config.paths.session)}.unreadable-`)) {
      const path = join(config.paths.home, name);
      out.push({ path, bytes: await allocatedBytes(path), why: 'a session set aside because it could not be read' });
    }
  out.push(...(await supersededAppliances(op)));
  for (const f of originalSnapshotFiles(config))
    out.push({ path: f.path, bytes: f.bytes, why: "the original stack-emulator's snapshot file (never used here)" });
  return out;
}

export interface PruneResult {
  items: PruneItem[];
  /** Bytes freed (0 with `dryRun`). */
  freed: number;
  dryRun: boolean;
}

/** Removes what {@link findPrunable} lists (snapshots renamed aside first, so no reader sees half of one). */
export async function pruneHome(
  op: Op,
  options: { dryRun?: boolean } & Parameters<typeof findPrunable>[1] = {},
): Promise<PruneResult> {
  const lock = await lockInstance(op, 'prune');
  try {
    const items = await findPrunable(op, options);
    if (options.dryRun) return { items, freed: 0, dryRun: true };
    const cache = new SnapshotCache(op.config.paths.snapshots);
    let freed = 0;
    for (const item of items) {
      op.signal?.throwIfAborted();
      if (item.path.startsWith(`${op.config.paths.snapshots}/`)) await cache.remove({ dir: item.path });
      else await rm(item.path, { recursive: true, force: true });
      freed += item.bytes;
    }
    return { items, freed, dryRun: false };
  } finally {
    await lock.release();
  }
}
