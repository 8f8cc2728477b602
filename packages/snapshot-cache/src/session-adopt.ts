import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cloneSparse } from './clone-sparse.js';
import type { Fsync } from './fsync.js';
import { rebaseOverlay } from './overlay.js';
import type { RunTool } from './run-tool.js';
import { type BuildOptions, buildSession, SESSION_IMAGE } from './session-build.js';
import { SESSION_DISK, type SessionMeta } from './session-meta.js';

/**
 * Makes `options.disk` (an overlay on `options.image` holding the user's data, e.g. left by an earlier
 * tool) the disk of a new session in `dir`. The original is never written: the session gets a copy
 * (a reflink where the filesystem has them: Btrfs, XFS, APFS; elsewhere a sparse copy) and only the
 * copy is pointed at the pinned image (`qemu-img rebase -u` rewrites the header in place, so a hard
 * link would rewrite the original's too). The original is deleted only once the session holding the
 * copy is committed and synced. So at every instant, whatever is killed or loses power, the data is
 * whole at its original place or in a committed session (for a moment, in both).
 */
export async function adoptSession(
  dir: string,
  options: BuildOptions & { disk: string },
  deps: { run: RunTool; platform: NodeJS.Platform; fsync: Fsync },
): Promise<SessionMeta> {
  const meta = await buildSession(
    dir,
    options,
    async (tmp) => {
      const copy = join(tmp, SESSION_DISK);
      await cloneSparse(options.disk, copy, { platform: deps.platform, run: deps.run, signal: options.signal });
      await rebaseOverlay(copy, SESSION_IMAGE, { run: deps.run, signal: options.signal });
    },
    deps.fsync,
  );
  await rm(options.disk, { force: true });
  await deps.fsync.dir(dirname(options.disk));
  return meta;
}
