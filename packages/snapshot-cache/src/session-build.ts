import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '@stack/internal';
import { SnapshotError } from './errors.js';
import { type Fsync, syncTree } from './fsync.js';
import { linkOrCopy } from './link-or-copy.js';
import { readSessionMeta, SESSION_META, type SessionMeta, writeSessionMeta } from './session-meta.js';
import { tempDirName, whileBusy } from './temp-dirs.js';

export const SESSION_IMAGE = 'image.qcow2';

export interface BuildOptions {
  /** The image the session runs on: hard-linked in as `image.qcow2` (copied across filesystems). */
  image: string;
  /** The image's boot files (kernel, initrd), linked into `image.qcow2.boot/` when the directory exists. */
  bootDir?: string;
  /** Files written beside the disk, by name (e.g. the pinned image's base environment). */
  files?: Record<string, string>;
  meta: Omit<SessionMeta, 'version' | 'createdAt'>;
  signal?: AbortSignal;
}

/** The temp directories a build of the session in `dir` uses: `.<name>.new-<pid>-<random>` beside it. */
export const buildPrefix = (dir: string) => `.${basename(dir)}.new-`;

/**
 * Builds the session for `dir` in a temp directory beside it (`fill` adds the disk), syncs every file
 * (but those `fill` names unsynced) and the directory, and renames it into place in one step, then
 * syncs the parent: a crash leaves
 * either no session or a complete, durable one, and the temp directory (which never holds the only
 * copy of anything) for a sweep. A directory already at `dir` without a session in it may hold
 * someone's disk: it is renamed aside (`<dir>.unreadable-<time>`), never deleted.
 */
export async function buildSession(
  dir: string,
  options: BuildOptions,
  fill: (tmp: string) => Promise<void | { unsynced: readonly string[] }>,
  fsync: Fsync,
): Promise<SessionMeta> {
  if (await readSessionMeta(dir))
    throw new SnapshotError('SNAPSHOT_SESSION_EXISTS', `a session already exists in ${dir}`);
  const parent = dirname(resolve(dir));
  await mkdir(parent, { recursive: true, mode: 0o700 });
  const tmp = join(parent, tempDirName(buildPrefix(dir)));
  return whileBusy(tmp, async () => {
    await mkdir(tmp, { mode: 0o700 });
    let done = false;
    try {
      await linkOrCopy(options.image, join(tmp, SESSION_IMAGE));
      if (options.bootDir && existsSync(options.bootDir)) {
        await mkdir(join(tmp, `${SESSION_IMAGE}.boot`));
        for (const f of await readdir(options.bootDir))
          await linkOrCopy(join(options.bootDir, f), join(tmp, `${SESSION_IMAGE}.boot`, f));
      }
      for (const [name, text] of Object.entries(options.files ?? {})) {
        if (name.includes('/') || name === SESSION_META || name.startsWith('.'))
          throw new TypeError(`not a session file name: ${name}`);
        await writeFileAtomic(join(tmp, name), text, { mode: 0o600, fsync: false }); // synced with the tree
      }
      const filled = await fill(tmp);
      const meta: SessionMeta = { version: 1, createdAt: new Date().toISOString(), ...options.meta };
      await writeSessionMeta(tmp, meta, { fsync: false });
      await syncTree(tmp, fsync, new Set((filled?.unsynced ?? []).map((f) => join(tmp, f))));
      if (existsSync(dir)) await rename(dir, `${dir}.unreadable-${Date.now()}`);
      await rename(tmp, dir);
      await fsync.dir(parent);
      done = true;
      return meta;
    } finally {
      if (!done) await rm(tmp, { recursive: true, force: true });
    }
  });
}
