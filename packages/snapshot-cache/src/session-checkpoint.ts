import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { allDone } from '@stack/internal';
import type { CheckpointMeta, CheckpointSession } from './checkpoint-meta.js';
import { cloneSparse } from './clone-sparse.js';
import type { Fsync } from './fsync.js';
import { linkOrCopy } from './link-or-copy.js';
import { chainOf, createOverlay } from './overlay.js';
import type { RunTool } from './run-tool.js';
import { type BuildOptions, buildSession, SESSION_IMAGE } from './session-build.js';
import { SESSION_DISK, type SessionMeta } from './session-meta.js';

const BOOT = `${SESSION_IMAGE}.boot`;
/** Files beside a session's image that travel with it (its base environment: `image.qcow2.base.env`). */
const isSidecar = (name: string) => name.startsWith(`${SESSION_IMAGE}.`) && name !== BOOT;

/**
 * Links what a checkpoint keeps of a session into `tmp`: the disk chain from the frozen `layer` down
 * to the image (same names, so its relative backing names hold), the image's boot files and the
 * sidecars. Returns the sidecars' names. Nothing is copied: every file is read-only from now on.
 */
export async function linkSessionInto(sessionDir: string, tmp: string, layer: string): Promise<string[]> {
  for (const f of await chainOf(join(sessionDir, layer))) await linkOrCopy(join(sessionDir, f), join(tmp, f));
  if (existsSync(join(sessionDir, BOOT))) {
    await mkdir(join(tmp, BOOT));
    for (const f of await readdir(join(sessionDir, BOOT)))
      await linkOrCopy(join(sessionDir, BOOT, f), join(tmp, BOOT, f));
  }
  const sidecars = (await readdir(sessionDir, { withFileTypes: true }))
    .filter((d) => d.isFile() && isSidecar(d.name))
    .map((d) => d.name);
  for (const f of sidecars) await linkOrCopy(join(sessionDir, f), join(tmp, f));
  return sidecars;
}

/** The session part of a checkpoint's meta: what a restore makes a session of again. */
export function checkpointSession(meta: SessionMeta): CheckpointSession {
  const { version: _v, running: _r, lastStop: _l, ram: _ram, pendingTop: _p, ...rest } = meta;
  return rest;
}

/**
 * Builds a session in `sessionDir` (there must be none) at a checkpoint: links of its chain, a fresh
 * overlay on its frozen top, its RAM state linked (QEMU only reads it, and the resume deletes only
 * the session's name) and a template session's RAM file cloned (the VM writes that one). The
 * checkpoint is only read: restore it as often as wanted.
 */
export async function buildFromCheckpoint(
  sessionDir: string,
  ckptDir: string,
  ckpt: CheckpointMeta,
  options: { run: RunTool; platform: NodeJS.Platform; fsync: Fsync; signal?: AbortSignal },
): Promise<SessionMeta> {
  const files: Record<string, string> = {};
  for (const f of ckpt.files) files[f] = await readFile(join(ckptDir, f), 'utf8');
  const { createdAt: _c, ...session } = ckpt.session;
  const build: BuildOptions = {
    image: join(ckptDir, SESSION_IMAGE),
    bootDir: join(ckptDir, BOOT),
    files,
    meta: { ...session, ram: ckpt.ram },
    signal: options.signal,
  };
  return buildSession(
    sessionDir,
    build,
    async (tmp) => {
      const memory = ckpt.ram.memory;
      // The RAM file's clone (the longest part: 0.16 s for 420 MB on ext4) runs beside the links and
      // the overlay, which do not touch it; allDone lets both finish before a failure empties `tmp`.
      await allDone([
        (async () => {
          for (const f of await chainOf(join(ckptDir, ckpt.top)))
            if (f !== SESSION_IMAGE) await linkOrCopy(join(ckptDir, f), join(tmp, f));
          await createOverlay(join(tmp, ckpt.top), join(tmp, SESSION_DISK), {
            backingName: ckpt.top,
            run: options.run,
            signal: options.signal,
          });
          await linkOrCopy(join(ckptDir, ckpt.ram.file), join(tmp, ckpt.ram.file));
        })(),
        memory
          ? cloneSparse(join(ckptDir, memory.file), join(tmp, memory.file), {
              platform: options.platform,
              run: options.run,
              signal: options.signal,
            })
          : undefined,
      ]);
      if (!memory) return;
      // Not synced: writing the whole clone back (0.34 s for 420 MB here) before the resume would make
      // every restore wait for it, and it protects nothing. Only a power cut loses it, and then the
      // check before the resume (its sampled digest: savedRamProblem) finds it changed and the start
      // does without it; the checkpoint itself is untouched. QEMU writes the file as the guest runs,
      // and the stop that saves the session syncs it.
      return { unsynced: [memory.file] };
    },
    options.fsync,
  );
}
