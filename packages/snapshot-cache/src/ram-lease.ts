import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SnapshotCorruptError, SnapshotError } from './errors.js';
import type { SessionMeta } from './session-meta.js';
import { savedRamProblem, type SessionRam } from './session-ram.js';

/**
 * The saved RAM state of a session, lent to one resume. Nothing on disk changes until `consume()`:
 * a resume that fails before it (QEMU did not start, could not load the state, Ctrl-C) calls
 * `release()` and the session still has its RAM state, as does one whose process is killed.
 *
 * When to consume: before the guest can run, because from the moment it runs its disk (and a
 * template session's RAM file) move on and the state no longer belongs to them. QEMU writes neither
 * before: under `-incoming` its block devices stay inactive until the load completes, and a guest
 * that never ran wrote no RAM. So with QEMU started paused (`-S`): migrate-incoming, wait for
 * completion, `consume()`, then `cont`. A QEMU started without `-S` runs the guest as soon as the
 * load completes: consume before migrate-incoming. Either way `release()` belongs in a `finally`.
 */
export interface RamLease {
  /** The saved state for QEMU's migrate-incoming (`file:` URI); it stays readable until `release()`. */
  readonly path: string;
  /** What was saved: the key, the plugged shares, a template session's RAM file. */
  readonly ram: SessionRam;
  /** True once `consume()` has returned. */
  readonly consumed: boolean;
  /**
   * Spends the state: removed from meta.json, durably (fsync of the file and the directory), before
   * this returns. From then on a crash or a failure leaves a session without RAM state, whose disk the
   * next start cold-boots. Idempotent.
   */
  consume(): Promise<void>;
  /**
   * Ends the lease. Before `consume()` the state stays the session's, untouched: the next start can
   * resume it. After, its file is deleted. Idempotent; call it in a `finally`.
   */
  release(): Promise<void>;
}

/** What a lease needs of the store: its directory and meta.json. */
export interface LeaseStore {
  readonly dir: string;
  read(): Promise<SessionMeta | undefined>;
  update(change: (meta: SessionMeta) => SessionMeta): Promise<SessionMeta>;
}

/** The same saved state (not a later one that reused the file name). */
const same = (a: SessionRam | undefined, b: SessionRam) =>
  a !== undefined && a.file === b.file && a.savedAt === b.savedAt && a.edgeSha256 === b.edgeSha256;

/** meta.json without `ram` when it still names `ram`; any other state is left alone. */
async function forget(store: LeaseStore, ram: SessionRam): Promise<void> {
  try {
    await store.update((m) => {
      if (!same(m.ram, ram)) return m;
      const { ram: _ram, ...rest } = m;
      return rest;
    });
  } catch (e) {
    // The session was dropped meanwhile: nothing names the state any more.
    if (!(e instanceof SnapshotError && e.code === 'SNAPSHOT_NOT_FOUND')) throw e;
  }
}

/**
 * Lends the session's saved RAM state to one resume after checking it (size, first and last MiB, and
 * a template session's RAM file by samples). Throws SNAPSHOT_NOT_FOUND when there is none, and
 * {@link SnapshotCorruptError} when it fails its check (then it is discarded: no resume can use it).
 * A file that cannot be read now (EIO...) throws as it is and discards nothing.
 */
export async function leaseRam(store: LeaseStore): Promise<RamLease> {
  const ram = (await store.read())?.ram;
  if (!ram) throw new SnapshotError('SNAPSHOT_NOT_FOUND', `the session in ${store.dir} has no saved RAM state`);
  const path = join(store.dir, ram.file);
  const why = await savedRamProblem(store.dir, ram);
  if (why) {
    await forget(store, ram);
    await rm(path, { force: true });
    throw new SnapshotCorruptError(path, why);
  }
  let consumed = false;
  let released = false;
  return {
    path,
    ram,
    get consumed() {
      return consumed;
    },
    async consume() {
      if (released) throw new SnapshotError('SNAPSHOT_NOT_FOUND', 'the RAM lease was already released');
      if (consumed) return;
      await forget(store, ram);
      consumed = true;
    },
    async release() {
      if (released) return;
      released = true;
      if (!consumed) return;
      // Unless a saving stop has named a new state under the same file name since (or meta.json
      // cannot be read now, so that is unknown: then the file stays, and the next saving stop replaces it).
      const now = await store.read().then(
        (m) => m?.ram?.file,
        () => ram.file,
      );
      if (now !== ram.file) await rm(path, { force: true });
    },
  };
}
