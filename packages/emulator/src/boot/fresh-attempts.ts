import type { SnapshotEntry } from '@stack/snapshot-cache';
import { roomFor } from '../host/free-space.js';
import { sessionSaveFormat } from '../host/snapshot-support.js';
import type { Target } from '../plan/attempt.js';
import { createSession, pinnedTarget, type Session } from '../session/session.js';
import { bootKind, coldNote, sessionLayout, stepped } from './attempt-helpers.js';
import type { BootEnv } from './boot-env.js';
import type { Booted, OnLaunched } from './booted.js';
import { coldBoot } from './cold-boot.js';
import { resumeGolden } from './resume.js';

/**
 * Whether a session resumed from a template can have its own RAM file (mapped shared: a saving stop
 * writes the device state only). The file fills as the guest touches memory: where it could not grow
 * to the guest's whole RAM, a write into a hole would be SIGBUS and QEMU would die, so the session
 * maps the template privately instead, and says why. On a tmpfs that is no way out: there a read of a
 * hole of the privately mapped template allocates too (the save at stop reads every page), and QEMU
 * died of SIGBUS in the fault suite; so there the start is refused as a full disk.
 */
async function ownRamFits(env: BootEnv, dir: string): Promise<boolean> {
  const bytes = env.op.config.memoryMiB * 1024 * 1024;
  const { fits, free } = await roomFor(env.op.seams.disk, dir, bytes);
  if (fits) return true;
  const freeText = `${((free ?? 0) / 1e9).toFixed(1)} GB`;
  if (await env.op.seams.disk.fillsHolesOnRead(dir))
    throw Object.assign(
      new Error(
        `a session resumed from the template needs room for the guest's whole RAM (${(bytes / 1e9).toFixed(1)} GB and some headroom) in ${dir}, a tmpfs, where even the template's pages read privately take space; ${freeText} are free`,
      ),
      { code: 'ENOSPC' },
    );
  env.op.reporter.info(
    `only ${freeText} free in ${dir}: the session's RAM stays in memory (saved whole at stop) rather than in a file that could fill the disk`,
  );
  return false;
}

/** Runs `work` on a session made for it; a failure drops the session again (it holds nothing yet). */
async function inNewSession<T>(
  env: BootEnv,
  golden: SnapshotEntry | undefined,
  work: (s: Session) => Promise<T>,
): Promise<T> {
  const s = await createSession(env, golden ? { golden } : {});
  try {
    return await work(s);
  } catch (e) {
    await s.store.drop().catch(() => {});
    throw e;
  }
}

/** The golden snapshot on a fresh disk (a new session's, or a throwaway one), with fresh secrets. */
export async function resumeGoldenInto(
  env: BootEnv,
  entry: SnapshotEntry,
  target: Target,
  onLaunched: OnLaunched,
): Promise<Booted> {
  const text = `resuming snapshot ${entry.id.slice(0, 8)}`;
  const done = (r: { secrets: Booted['secrets'] }) =>
    `resumed${r.secrets === 'fresh' ? ' and rotated secrets' : ' (rotation disabled)'}`;
  const format = entry.meta.key.format;
  const resumed = { mode: 'resumed' as const, layout: 'snapshot' as const, format, snapshotId: entry.id };
  const shares = [...env.shares];
  if (target === 'ephemeral') {
    const launching = { mode: 'resumed' as const, image: env.image.path, shares };
    const b = await stepped(env, text, done, () =>
      resumeGolden(env, entry, { disk: env.op.config.paths.ephemeralDisk, fresh: true, shares, launching }, onLaunched),
    );
    return { ...b, ...resumed, ...launching, boot: bootKind(env) };
  }
  return inNewSession(env, entry, async (s) => {
    const pinned = pinnedTarget(env, s.store);
    const own = entry.ramPath ? await ownRamFits(env, s.store.dir) : false;
    const launching = { mode: 'resumed' as const, session: s, image: pinned.image.path, shares };
    const b = await stepped(env, text, done, () =>
      resumeGolden(
        env,
        entry,
        {
          disk: s.store.disk,
          fresh: false,
          target: pinned,
          // A template's session runs on its own copy of the template's RAM file, mapped shared: the
          // stop then saves the device state only (ARCHITECTURE.md, "Sessions and template RAM").
          ...(own
            ? {
                ownMemory: {
                  path: s.store.memoryPath,
                  make: () => s.store.cloneMemory(entry.ramPath!, { signal: env.op.signal }),
                },
              }
            : {}),
          shares,
          launching,
        },
        onLaunched,
      ),
    );
    // Without its own RAM file the session's pages are anonymous memory: saved whole at stop.
    const whole =
      entry.ramPath && !own ? { format: sessionSaveFormat(env.host.probe, format), resumedFrom: format } : {};
    return { ...b, ...resumed, ...whole, ...launching, boot: bootKind(pinned) };
  });
}

/** A cold boot of the image on a fresh disk (a new session's, or a throwaway one); `reason`: why not a snapshot. */
export async function coldFresh(env: BootEnv, target: Target, reason: string, onLaunched: OnLaunched): Promise<Booted> {
  const shares = [...env.shares];
  if (target === 'ephemeral') {
    const launching = { mode: 'cold' as const, image: env.image.path, shares };
    const b = await stepped(env, 'cold boot', coldNote, () =>
      coldBoot(
        env,
        { disk: env.op.config.paths.ephemeralDisk, freshOn: env.image.path, layout: 'cold', shares, launching },
        onLaunched,
      ),
    );
    return { ...b, ...launching, layout: 'cold', coldReason: reason, boot: bootKind(env) };
  }
  return inNewSession(env, undefined, async (s) => {
    const pinned = pinnedTarget(env, s.store);
    const where = sessionLayout(env);
    const launching = { mode: 'cold' as const, session: s, image: pinned.image.path, shares };
    const b = await stepped(env, 'cold boot', coldNote, () =>
      coldBoot(env, { disk: s.store.disk, layout: where.layout, target: pinned, shares, launching }, onLaunched),
    );
    return { ...b, ...launching, ...where, coldReason: reason, boot: bootKind(pinned) };
  });
}
