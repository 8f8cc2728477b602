import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SnapshotError } from './errors.js';
import { type Fsync, fsync as realFsync, syncTree } from './fsync.js';
import { type CheckpointMeta, readCheckpointMeta, writeCheckpointMeta } from './checkpoint-meta.js';
import { isLeftover, tempDirName, whileBusy } from './temp-dirs.js';

/** A checkpoint as {@link CheckpointStore.list} returns it. */
export interface CheckpointEntry {
  name: string;
  dir: string;
  meta: CheckpointMeta;
  /** Bytes its files hold (allocated). Files shared with a session or another checkpoint count in each. */
  bytes: number;
}

const NEW = '.new-';
const OLD = '.old-';

/** A checkpoint name: also a directory name (1-64 of a-z 0-9 . _ -, a letter or digit first). */

export const isCheckpointName = (name: string) => /^[a-z0-9][a-z0-9._-]{0,63}$/.test(name);

/**
 * The checkpoints of a home, one directory each under `dir`: built in a temp directory beside them
 * (`.new-<pid>-*`), synced and renamed into place, so a crash leaves either no checkpoint or a
 * complete one. Replacing or removing one renames it aside first (`.old-<pid>-*`): never a
 * half-deleted checkpoint under its name. A checkpoint's files are hard links shared with the session
 * it came from and the sessions restored from it, which only ever read them.
 */
export class CheckpointStore {
  readonly dir: string;
  readonly #fsync: Fsync;

  constructor(dir: string, options: { fsync?: Fsync } = {}) {
    this.dir = dir;
    this.#fsync = options.fsync ?? realFsync;
  }

  pathOf(name: string): string {
    if (!isCheckpointName(name)) throw new TypeError(`not a checkpoint name: ${name}`);
    return join(this.dir, name);
  }

  read(name: string): Promise<CheckpointMeta | undefined> {
    return readCheckpointMeta(this.pathOf(name));
  }

  /** Every checkpoint, by name; a directory whose meta.json is unreadable is skipped. */
  async list(): Promise<CheckpointEntry[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter(isCheckpointName).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: CheckpointEntry[] = [];
    for (const name of names) {
      const dir = join(this.dir, name);
      const meta = await readCheckpointMeta(dir).catch(() => undefined);
      if (meta) out.push({ name, dir, meta, bytes: await allocated(dir) });
    }
    return out;
  }

  /**
   * Builds checkpoint `name`: `fill` puts its files in the temp directory and returns its meta; then
   * meta.json is written, the tree synced and renamed into place. An existing checkpoint of that name
   * is an error unless `replace` (it is then renamed aside in the same step and deleted).
   */
  async build(
    name: string,
    fill: (tmp: string) => Promise<CheckpointMeta>,
    options: { replace?: boolean } = {},
  ): Promise<CheckpointMeta> {
    const dest = this.pathOf(name);
    if (!options.replace && (await readCheckpointMeta(dest).catch(() => true)))
      throw new SnapshotError('SNAPSHOT_CHECKPOINT_EXISTS', `a checkpoint named ${name} exists`);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, tempDirName(NEW));
    return whileBusy(tmp, async () => {
      let done = false;
      try {
        await mkdir(tmp, { mode: 0o700 });
        const meta = await fill(tmp);
        await writeCheckpointMeta(tmp, meta);
        await syncTree(tmp, this.#fsync);
        await this.#setAside(dest);
        await rename(tmp, dest);
        await this.#fsync.dir(this.dir);
        done = true;
        return meta;
      } finally {
        if (!done) await rm(tmp, { recursive: true, force: true });
      }
    });
  }

  /** Removes checkpoint `name` (renamed aside in one synced step, then deleted); false when there was none. */
  async remove(name: string): Promise<boolean> {
    return this.#setAside(this.pathOf(name));
  }

  async #setAside(dest: string): Promise<boolean> {
    const trash = join(this.dir, tempDirName(OLD));
    return whileBusy(trash, async () => {
      try {
        await rename(dest, trash);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw e;
      }
      await this.#fsync.dir(this.dir);
      await rm(trash, { recursive: true, force: true });
      return true;
    });
  }

  /** Removes what a killed command left: build and trash directories of dead processes. */
  async sweep(isAlive: (pid: number) => boolean): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const removed: string[] = [];
    for (const n of names) {
      if (!isLeftover(n, [NEW, OLD], { path: join(this.dir, n), isAlive })) continue;
      await rm(join(this.dir, n), { recursive: true, force: true });
      removed.push(n);
    }
    return removed;
  }
}

async function allocated(dir: string): Promise<number> {
  let total = 0;
  for (const d of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!d.isFile()) continue;
    const st = await stat(join(d.parentPath, d.name)).catch(() => undefined);
    total += st ? st.blocks * 512 : 0;
  }
  return total;
}
