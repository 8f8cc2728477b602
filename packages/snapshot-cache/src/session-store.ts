import { chmod, copyFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { SnapshotError } from './errors.js';
import { cloneSparse } from './clone-sparse.js';
import { type Fsync, fsync } from './fsync.js';
import { type CompatibilityKey, parseKey } from './key.js';
import { linkOrCopy } from './link-or-copy.js';
import { backingNameOf, createOverlay, rebaseOverlay } from './overlay.js';
import { leaseRam, type RamLease } from './ram-lease.js';
import { type RunTool, runTool } from './run-tool.js';
import { adoptSession } from './session-adopt.js';
import type { CheckpointMeta } from './checkpoint-meta.js';
import { buildFromCheckpoint } from './session-checkpoint.js';
import { freezeLayer, type PreparedLayer, prepareLayer, settleLayers, topOf } from './session-layers.js';
import { type BuildOptions, buildPrefix, buildSession, SESSION_IMAGE } from './session-build.js';
import { readSessionMeta, SESSION_DISK, type SessionMeta, writeSessionMeta } from './session-meta.js';
import { recordRam } from './session-ram.js';
import { isLeftover, tempDirName, whileBusy } from './temp-dirs.js';

const GOLDEN = 'golden.qcow2';
const RAM = 'state.raw';
const RESUMING = 'resuming.raw';
const MEMORY = 'ram.img';

export interface SessionSizes {
  /** Bytes the session disk holds (allocated, not its virtual size). */
  disk: number;
  /** Bytes of saved RAM state and the session's RAM file (allocated), 0 when none. */
  ram: number;
}

export interface SessionStoreOptions {
  /** Runs qemu-img and cp. @default runTool (spawns them) */
  run?: RunTool;
  /** Which `cp` to expect (see cloneMemory). @default process.platform */
  platform?: NodeJS.Platform;
  /** How files and directories are synced before they are named. @default fsync (fdatasync, fsync) */
  fsync?: Fsync;
}

/**
 * A persistent session under one directory: a hard link of its image (and the image's boot files),
 * of the golden disk it began on when it did, the disk the VM writes (an overlay with relative backing
 * names, so the chain is self-contained and never longer than image <- golden <- disk), its RAM state
 * after a saving stop, and meta.json. Every change to meta.json is atomic and durable; RAM state is
 * lent to a resume and consumed before its guest runs, so it never loads against a disk that moved on.
 */
export class SessionStore {
  readonly dir: string;
  readonly #run: RunTool;
  readonly #platform: NodeJS.Platform;
  readonly #fsync: Fsync;

  constructor(dir: string, options: SessionStoreOptions = {}) {
    this.dir = dir;
    this.#run = options.run ?? runTool;
    this.#platform = options.platform ?? process.platform;
    this.#fsync = options.fsync ?? fsync;
  }

  get disk(): string {
    return join(this.dir, SESSION_DISK);
  }
  /** The pinned image (boot files beside it in `image.qcow2.boot/`). */
  get image(): string {
    return join(this.dir, SESSION_IMAGE);
  }
  get ramPath(): string {
    return join(this.dir, RAM);
  }
  /** The session's guest RAM file, when it runs on a template's RAM (see {@link SessionRam.memory}). */
  get memoryPath(): string {
    return join(this.dir, MEMORY);
  }
  /** Where a saving stop has QEMU write the RAM state; `commitRam` makes it the session's. */
  get ramTempPath(): string {
    return join(this.dir, `${RAM}.tmp`);
  }

  /**
   * Makes the session's RAM file a copy of a template's (sharing blocks where the filesystem can):
   * the VM then maps it shared, so a saving stop writes only the device state.
   */
  async cloneMemory(template: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    await cloneSparse(template, this.memoryPath, { platform: this.#platform, run: this.#run, signal: options.signal });
    return this.memoryPath;
  }

  /** Removes the RAM file (a cold boot left it behind: it no longer belongs to the disk). */
  async discardMemory(): Promise<void> {
    await rm(this.memoryPath, { force: true });
  }

  /**
   * The session's meta.json: undefined when there is no session, or when its meta.json is garbled or
   * not a session's (`create` then sets the directory aside). Throws SNAPSHOT_SESSION_UNREADABLE when
   * it cannot be read now (EIO, EMFILE, EACCES...): that session is not gone.
   */
  read(): Promise<SessionMeta | undefined> {
    return readSessionMeta(this.dir);
  }

  /** Applies `change` to meta.json (which must exist). */
  async update(change: (meta: SessionMeta) => SessionMeta): Promise<SessionMeta> {
    const meta = await this.read();
    if (!meta) throw new SnapshotError('SNAPSHOT_NOT_FOUND', `no session in ${this.dir}`);
    const next = change(meta);
    await writeSessionMeta(this.dir, next);
    return next;
  }

  /**
   * Creates the session (there must be none): links the image and its boot files, the golden disk
   * when given (one with an absolute backing name is copied and pointed at the link), and a fresh
   * overlay on the top one; `files` are written beside them (e.g. the pinned image's base
   * environment). Built in a temp directory, synced, and renamed into place.
   */
  async create(options: BuildOptions & { golden?: string }): Promise<SessionMeta> {
    return buildSession(
      this.dir,
      options,
      async (tmp) => {
        let top = SESSION_IMAGE;
        if (options.golden) {
          const name = await backingNameOf(options.golden);
          if (name === SESSION_IMAGE) await linkOrCopy(options.golden, join(tmp, GOLDEN));
          else {
            // A golden disk made before relative names: a private copy pointed at the link (a few hundred MB).
            await copyFile(options.golden, join(tmp, GOLDEN));
            await chmod(join(tmp, GOLDEN), 0o644);
            await rebaseOverlay(join(tmp, GOLDEN), SESSION_IMAGE, { run: this.#run, signal: options.signal });
            await chmod(join(tmp, GOLDEN), 0o444);
          }
          top = GOLDEN;
        }
        await createOverlay(join(tmp, top), join(tmp, SESSION_DISK), {
          backingName: top,
          run: this.#run,
          signal: options.signal,
        });
      },
      this.#fsync,
    );
  }

  /**
   * Makes `disk` (an overlay on `image` with its data, e.g. left by an earlier tool) the session's
   * disk: a copy (a reflink where the filesystem can) is pointed at the pinned image, and `disk` is
   * deleted once the session is committed and synced. A failure or crash before leaves `disk` as it was.
   */
  adopt(options: BuildOptions & { disk: string }): Promise<SessionMeta> {
    return adoptSession(this.dir, options, { run: this.#run, platform: this.#platform, fsync: this.#fsync });
  }

  /**
   * Records the RAM state QEMU wrote to `ramTempPath` (QEMU has exited, its disk flushed): the state,
   * the disk and a template session's RAM file are synced, the state renamed into place and the
   * directory synced, and only then named in meta.json, so a power cut leaves either no RAM state or
   * a complete one that belongs to the disk.
   */
  async commitRam(options: {
    key: CompatibilityKey;
    plugged: string[];
    readonly?: string[];
    stoppedAt?: Date;
  }): Promise<SessionMeta> {
    const tmp = this.ramTempPath;
    const key = parseKey(options.key);
    await this.#fsync.file(tmp);
    await this.#fsync.file(this.disk);
    // The guest wrote a template session's RAM through the page cache: only what is not on disk yet is written now.
    if (key.format === 'template-ram') await this.#fsync.file(this.memoryPath);
    await rename(tmp, this.ramPath);
    await this.#fsync.dir(this.dir);
    const at = (options.stoppedAt ?? new Date()).toISOString();
    const ram = await recordRam(this.dir, {
      file: RAM,
      key,
      plugged: options.plugged,
      ...(options.readonly?.length ? { readonly: options.readonly } : {}),
      savedAt: at,
      ...(key.format === 'template-ram' ? { memoryFile: MEMORY } : {}),
    });
    return this.update(({ running: _r, ...m }) => ({ ...m, lastStop: { at, saved: true }, ram }));
  }

  /**
   * Lends the saved RAM state to a resume (see {@link RamLease}: consume it before the guest runs,
   * release it in a `finally`); nothing changes on disk until `consume()`. Throws SNAPSHOT_NOT_FOUND
   * without one, and SnapshotCorruptError (the state is discarded) when it fails its check.
   */
  leaseRam(): Promise<RamLease> {
    return leaseRam(this);
  }

  /**
   * @deprecated Consumes the state before QEMU has loaded it, so a failed launch loses it: use
   * {@link leaseRam}. Leases and consumes at once, and returns the state under a private name.
   */
  async takeRam(): Promise<string> {
    const lease = await this.leaseRam();
    await lease.consume();
    const resuming = join(this.dir, RESUMING);
    await rename(lease.path, resuming);
    return resuming;
  }

  /** Drops RAM state (incompatible, or a resume finished with it) and leftovers of a saving stop. */
  async discardRam(): Promise<void> {
    const meta = await this.read();
    if (meta?.ram) await this.update(({ ram: _ram, ...m }) => m);
    await Promise.all([RAM, `${RAM}.tmp`, RESUMING].map((f) => rm(join(this.dir, f), { force: true })));
  }

  /** The overlay the session goes on with when a checkpoint freezes its disk (see session-layers.ts). */
  prepareLayer(options: { now: () => number; signal?: AbortSignal }): Promise<PreparedLayer> {
    return prepareLayer(this.dir, { run: this.#run, ...options });
  }

  /** Freezes the disk as `prepared.layer`; the prepared overlay becomes `disk.qcow2`. */
  freezeLayer(prepared: PreparedLayer): Promise<void> {
    return freezeLayer(this.dir, prepared, this.#fsync);
  }

  /** With no VM on the session (before a launch; after an exit, before a commit): see session-layers.ts. */
  settleLayers(): Promise<string[]> {
    return settleLayers(this.dir, this.#fsync);
  }

  /** The disk file the session's VM writes now (`disk.qcow2`, or the pending one after a checkpoint). */
  async currentDisk(): Promise<string> {
    return join(this.dir, topOf(await this.read()));
  }

  /** Creates the session (there must be none) at checkpoint `ckpt` in `ckptDir` (see session-checkpoint.ts). */
  createFromCheckpoint(ckptDir: string, ckpt: CheckpointMeta, options: { signal?: AbortSignal } = {}) {
    return buildFromCheckpoint(this.dir, ckptDir, ckpt, {
      run: this.#run,
      platform: this.#platform,
      fsync: this.#fsync,
      ...options,
    });
  }

  /** Allocated bytes of the disk and the RAM state. */
  async sizes(): Promise<SessionSizes> {
    const used = async (f: string) => {
      const st = await stat(join(this.dir, f)).catch(() => undefined);
      return st ? st.blocks * 512 : 0;
    };
    return { disk: await used(SESSION_DISK), ram: (await used(RAM)) + (await used(MEMORY)) };
  }

  /** Discards the session (`reset`): renamed aside in one step (synced), then deleted. */
  async drop(): Promise<boolean> {
    const parent = dirname(resolve(this.dir));
    const trash = join(parent, tempDirName(this.#trashPrefix));
    return whileBusy(trash, async () => {
      try {
        await rename(this.dir, trash);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw e;
      }
      await this.#fsync.dir(parent);
      await rm(trash, { recursive: true, force: true });
      return true;
    });
  }

  get #trashPrefix(): string {
    return `.${basename(this.dir)}.old-`;
  }

  /**
   * Removes what a killed command left beside the session, and nothing else: build directories
   * (`.<name>.new-<pid>-*`, which hold only links and copies: an adopted disk stays at its place until
   * the session is committed) and trash of a drop (`.<name>.old-<pid>-*`, a session the user
   * discarded), each only when its process is dead or is this one, not working in it. Directories set
   * aside as unreadable are kept.
   */
  async sweep(isAlive: (pid: number) => boolean): Promise<string[]> {
    const parent = dirname(resolve(this.dir));
    const prefixes = [buildPrefix(this.dir), this.#trashPrefix];
    const removed: string[] = [];
    let names: string[];
    try {
      names = await readdir(parent);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return removed;
      throw e;
    }
    for (const n of names) {
      if (!isLeftover(n, prefixes, { path: join(parent, n), isAlive })) continue;
      await rm(join(parent, n), { recursive: true, force: true });
      removed.push(n);
    }
    return removed;
  }
}
