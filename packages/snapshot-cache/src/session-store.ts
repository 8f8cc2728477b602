import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { SnapshotCorruptError, SnapshotError } from './errors.js';
import { cloneSparse } from './clone-sparse.js';
import { edgeDigest, sampledRecord } from './file-digest.js';
import { savedRamProblem, type SessionRam } from './session-ram.js';
import { fsyncFile, writeFileAtomic } from '@stack/internal';
import { type CompatibilityKey, parseKey } from './key.js';
import { linkOrCopy } from './link-or-copy.js';
import { backingNameOf, createOverlay, rebaseOverlay } from './overlay.js';
import { type RunTool, runTool } from './run-tool.js';

const META = 'meta.json';
const DISK = 'disk.qcow2';
const IMAGE = 'image.qcow2';
const GOLDEN = 'golden.qcow2';
const RAM = 'state.raw';
const RESUMING = 'resuming.raw';
const MEMORY = 'ram.img';

export interface SessionMeta {
  version: 1;
  createdAt: string;
  /** How the disk began: on a golden snapshot's disk, fresh on the image, or adopted from an earlier tool. */
  origin: 'golden' | 'image' | 'adopted';
  /** The image the session runs on (pinned: a link to it lives in the session). */
  image: { digest: string; choice: string };
  snapshotId?: string;
  /** The published client key of the secrets the disk holds, and how they came to be. */
  clientKey?: string;
  secrets?: 'fresh' | 'placeholders' | 'kept';
  /** Set while a VM runs on the disk; still set at the next start means it did not stop cleanly. */
  running?: { since: string; pid: number };
  lastStop?: { at: string; saved: boolean };
  ram?: SessionRam;
}

export interface SessionSizes {
  /** Bytes the session disk holds (allocated, not its virtual size). */
  disk: number;
  /** Bytes of saved RAM state and the session's RAM file (allocated), 0 when none. */
  ram: number;
}

/**
 * A persistent session under one directory: a hard link of its image (and the image's boot files),
 * of the golden disk it began on when it did, the disk the VM writes (an overlay with relative backing
 * names, so the chain is self-contained and never longer than image <- golden <- disk), its RAM state
 * after a saving stop, and meta.json. Every change to meta.json is atomic and durable; RAM state is
 * consumed before it is resumed, so it can never be loaded twice or against a disk that moved on.
 */
export class SessionStore {
  readonly dir: string;
  readonly #run: RunTool;
  readonly #platform: NodeJS.Platform;

  constructor(dir: string, options: { run?: RunTool; platform?: NodeJS.Platform } = {}) {
    this.dir = dir;
    this.#run = options.run ?? runTool;
    this.#platform = options.platform ?? process.platform;
  }

  get disk(): string {
    return join(this.dir, DISK);
  }
  /** The pinned image (boot files beside it in `image.qcow2.boot/`). */
  get image(): string {
    return join(this.dir, IMAGE);
  }
  get ramPath(): string {
    return join(this.dir, RAM);
  }
  /** The session's guest RAM file, when it runs on a template's RAM (see {@link SessionRam.memory}). */
  get memoryPath(): string {
    return join(this.dir, MEMORY);
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

  async read(): Promise<SessionMeta | undefined> {
    try {
      const meta = JSON.parse(await readFile(join(this.dir, META), 'utf8')) as SessionMeta;
      return meta.version === 1 && existsSync(this.disk) ? meta : undefined;
    } catch {
      return undefined;
    }
  }

  async #write(meta: SessionMeta): Promise<void> {
    await writeFileAtomic(join(this.dir, META), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
  }

  /** Applies `change` to meta.json (which must exist). */
  async update(change: (meta: SessionMeta) => SessionMeta): Promise<SessionMeta> {
    const meta = await this.read();
    if (!meta) throw new SnapshotError('SNAPSHOT_NOT_FOUND', `no session in ${this.dir}`);
    const next = change(meta);
    await this.#write(next);
    return next;
  }

  /**
   * Creates the session (there must be none): links the image and its boot files, the golden disk
   * when given (one with an absolute backing name is copied and pointed at the link), and a fresh
   * overlay on the top one; `files` are written beside them (e.g. the pinned image's base
   * environment). Built in a temp directory and renamed into place.
   */
  async create(options: {
    image: string;
    bootDir?: string;
    golden?: string;
    files?: Record<string, string>;
    meta: Omit<SessionMeta, 'version' | 'createdAt'>;
    signal?: AbortSignal;
  }): Promise<SessionMeta> {
    return this.#build(options, async (tmp) => {
      let top = IMAGE;
      if (options.golden) {
        const name = await backingNameOf(options.golden);
        if (name === IMAGE) await linkOrCopy(options.golden, join(tmp, GOLDEN));
        else {
          // A golden disk made before relative names: a private copy pointed at the link (a few hundred MB).
          await copyFile(options.golden, join(tmp, GOLDEN));
          await chmod(join(tmp, GOLDEN), 0o644);
          await rebaseOverlay(join(tmp, GOLDEN), IMAGE, { run: this.#run, signal: options.signal });
          await chmod(join(tmp, GOLDEN), 0o444);
        }
        top = GOLDEN;
      }
      await createOverlay(join(tmp, top), join(tmp, DISK), {
        backingName: top,
        run: this.#run,
        signal: options.signal,
      });
    });
  }

  /**
   * Makes `disk` (an overlay on `image` with its data, e.g. left by an earlier tool) the session's
   * disk: moved in (same filesystem) and pointed at the pinned image. Moved back if anything fails.
   */
  async adopt(options: {
    image: string;
    bootDir?: string;
    disk: string;
    files?: Record<string, string>;
    meta: Omit<SessionMeta, 'version' | 'createdAt'>;
    signal?: AbortSignal;
  }): Promise<SessionMeta> {
    const oldName = await backingNameOf(options.disk);
    let moved: string | undefined;
    const putBack = async () => {
      if (!moved || !existsSync(moved)) return;
      if (oldName) await rebaseOverlay(moved, oldName, { run: this.#run }).catch(() => {});
      await rename(moved, options.disk);
      moved = undefined;
    };
    try {
      return await this.#build(
        options,
        async (tmp) => {
          moved = join(tmp, DISK);
          await rename(options.disk, moved);
          await rebaseOverlay(moved, IMAGE, { run: this.#run, signal: options.signal });
        },
        putBack,
      );
    } catch (e) {
      await putBack();
      throw e;
    }
  }

  /** Builds the session in a temp directory; on failure `undo` runs before the temp directory is deleted. */
  async #build(
    options: {
      image: string;
      bootDir?: string;
      files?: Record<string, string>;
      meta: Omit<SessionMeta, 'version' | 'createdAt'>;
    },
    fill: (tmp: string) => Promise<void>,
    undo?: () => Promise<void>,
  ): Promise<SessionMeta> {
    if (await this.read())
      throw new SnapshotError('SNAPSHOT_SESSION_EXISTS', `a session already exists in ${this.dir}`);
    const parent = join(this.dir, '..');
    await mkdir(parent, { recursive: true, mode: 0o700 });
    const tmp = join(parent, `.${basename(this.dir)}.new-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(tmp, { mode: 0o700 });
    let done = false;
    try {
      await linkOrCopy(options.image, join(tmp, IMAGE));
      if (options.bootDir && existsSync(options.bootDir)) {
        await mkdir(join(tmp, `${IMAGE}.boot`));
        for (const f of await readdir(options.bootDir))
          await linkOrCopy(join(options.bootDir, f), join(tmp, `${IMAGE}.boot`, f));
      }
      for (const [name, text] of Object.entries(options.files ?? {})) {
        if (name.includes('/') || name === META || name.startsWith('.'))
          throw new TypeError(`not a session file name: ${name}`);
        await writeFileAtomic(join(tmp, name), text, { mode: 0o600 });
      }
      await fill(tmp);
      const meta: SessionMeta = { version: 1, createdAt: new Date().toISOString(), ...options.meta };
      await writeFileAtomic(join(tmp, META), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
      // A directory without a readable meta.json is not a session, but may hold someone's disk: kept aside.
      if (existsSync(this.dir)) await rename(this.dir, `${this.dir}.unreadable-${Date.now()}`);
      await rename(tmp, this.dir);
      done = true;
      return meta;
    } finally {
      if (!done) {
        await undo?.();
        await rm(tmp, { recursive: true, force: true });
      }
    }
  }

  /** Where a saving stop has QEMU write the RAM state; `commitRam` makes it the session's. */
  get ramTempPath(): string {
    return join(this.dir, `${RAM}.tmp`);
  }

  /**
   * Records the RAM state QEMU wrote to `ramTempPath` (QEMU has exited, its disk flushed): made
   * durable first, then renamed, then named in meta.json, so a power cut leaves either no RAM state
   * or a complete one.
   */
  async commitRam(options: { key: CompatibilityKey; plugged: string[]; stoppedAt?: Date }): Promise<SessionMeta> {
    const tmp = this.ramTempPath;
    await fsyncFile(tmp);
    await fsyncFile(this.disk);
    const key = parseKey(options.key);
    let memory: SessionRam['memory'];
    if (key.format === 'template-ram') {
      // The guest wrote its RAM through the page cache: only what is not on disk yet is written now.
      await fsyncFile(this.memoryPath);
      memory = { file: MEMORY, ...(await sampledRecord(this.memoryPath)) };
    }
    const size = (await stat(tmp)).size;
    const edgeSha256 = await edgeDigest(tmp);
    await rename(tmp, this.ramPath);
    const at = (options.stoppedAt ?? new Date()).toISOString();
    return this.update(({ running: _r, ...m }) => ({
      ...m,
      lastStop: { at, saved: true },
      ram: {
        file: RAM,
        size,
        edgeSha256,
        key,
        plugged: options.plugged,
        savedAt: at,
        ...(memory ? { memory } : {}),
      },
    }));
  }

  /**
   * Takes the saved RAM state for a resume: checked (size, first and last MiB), then removed from
   * meta.json (durably) and renamed to a private name before QEMU reads it. A VM that dies from here
   * on leaves a session without RAM state: the next start cold-boots its disk. Throws
   * SnapshotCorruptError (the state is discarded) when the file fails its check.
   */
  async takeRam(): Promise<string> {
    const meta = await this.read();
    const ram = meta?.ram;
    if (!ram) throw new SnapshotError('SNAPSHOT_NOT_FOUND', `the session in ${this.dir} has no saved RAM state`);
    const file = join(this.dir, ram.file);
    const why = await savedRamProblem(this.dir, ram);
    // From here the RAM file is live (the VM writes it), as the state is spent: nothing resumes them again.
    await this.update(({ ram: _ram, ...m }) => m);
    if (why) {
      await rm(file, { force: true });
      throw new SnapshotCorruptError(file, why);
    }
    const resuming = join(this.dir, RESUMING);
    await rename(file, resuming);
    return resuming;
  }

  /** Drops RAM state (incompatible, or a resume finished with it) and leftovers of a saving stop. */
  async discardRam(): Promise<void> {
    const meta = await this.read();
    if (meta?.ram) await this.update(({ ram: _ram, ...m }) => m);
    await Promise.all([RAM, `${RAM}.tmp`, RESUMING].map((f) => rm(join(this.dir, f), { force: true })));
  }

  /** Allocated bytes of the disk and the RAM state. */
  async sizes(): Promise<SessionSizes> {
    const used = async (f: string) => {
      const st = await stat(join(this.dir, f)).catch(() => undefined);
      return st ? st.blocks * 512 : 0;
    };
    return { disk: await used(DISK), ram: (await used(RAM)) + (await used(MEMORY)) };
  }

  /** Discards the session: renamed aside in one step, then deleted. */
  async drop(): Promise<boolean> {
    const had = existsSync(this.dir);
    await this.#discardDir();
    return had;
  }

  async #discardDir(): Promise<void> {
    if (!existsSync(this.dir)) return;
    const trash = join(this.dir, '..', `.${basename(this.dir)}.old-${process.pid}-${randomBytes(4).toString('hex')}`);
    await rename(this.dir, trash);
    await rm(trash, { recursive: true, force: true });
  }

  /** Removes temp and trash directories a killed command left beside the session. */
  async sweep(isAlive: (pid: number) => boolean): Promise<void> {
    const parent = join(this.dir, '..');
    const prefix = `.${basename(this.dir)}.`;
    for (const n of await readdir(parent).catch(() => [] as string[])) {
      const m = n.startsWith(prefix) ? /^(?:new|old)-(\d+)-/.exec(n.slice(prefix.length)) : null;
      if (m && (Number(m[1]) === process.pid || !isAlive(Number(m[1]))))
        await rm(join(parent, n), { recursive: true, force: true });
    }
  }
}
