import { existsSync, mkdirSync } from 'node:fs';
import { readBootFiles } from '@stack/emulator-image';
import type { SnapshotEntry } from '@stack/snapshot-cache';
import { EmulatorError } from '../errors.js';
import { accelFailure, type BootContext, SHARE_SLOTS } from './boot-context.js';
import { coldBoot, keyInFile } from './cold-boot.js';
import { goldenFailed, goldenResumed, goldenSnapshot } from '../session/golden.js';
import { guestBoot } from '../image/image.js';
import { earlierDisk, forgetEarlierDisk } from '../session/legacy-home.js';
import { type BootedVm, resumeSession, resumeSnapshot } from './resume.js';
import { createSession, imageChoiceId, ramProblem, type Session, sessionStore } from '../session/session.js';
import { type SnapshotFormat, sessionSaveFormat } from '../host/snapshot-support.js';
import type { StartMode } from '../instance/state.js';

export interface Booted extends BootedVm {
  mode: StartMode;
  /** The layout the VM runs in: a session in the snapshot layout can be saved at stop. */
  layout: 'cold' | 'snapshot';
  /**
   * The RAM format it resumed from (ephemeral), or the one a session's stop saves it in: template-ram
   * only for a VM whose RAM is the session's own file.
   */
  format?: SnapshotFormat;
  coldReason?: string;
  snapshotId?: string;
}

const secretsNote = (s: BootedVm['secrets']) =>
  s === 'fresh' ? ', secrets rotated' : s === 'kept' ? ', secrets kept' : '';

/** Runs one boot path under a progress step. */
async function stepped<T extends BootedVm>(
  ctx: BootContext,
  text: string,
  done: (b: T) => string,
  work: () => Promise<T>,
): Promise<T> {
  const step = ctx.reporter.step(text);
  try {
    const b = await work();
    step.succeed(done(b));
    return b;
  } catch (e) {
    step.fail();
    throw e;
  }
}

/** The layout of a boot on a session disk: the snapshot layout where its RAM can be saved at stop. */
function sessionLayout(ctx: BootContext): { layout: 'cold' | 'snapshot'; format?: SnapshotFormat } {
  // A booted VM's RAM is anonymous memory: it is saved whole, even where snapshots are templates.
  return ctx.config.snapshot && ctx.snapshots.format !== undefined
    ? { layout: 'snapshot', format: sessionSaveFormat(ctx.host.probe, ctx.snapshots.format) }
    : { layout: 'cold' };
}

/** Points the context at the session's pinned image (its links), so nothing depends on files pull replaces. */
function usePinned(ctx: BootContext, s: Session): void {
  ctx.session = s;
  ctx.image = { ...ctx.image, path: s.store.image, boot: readBootFiles(s.store.image) };
  ctx.boot = guestBoot(ctx.config.arch, ctx.image, ctx.host.probe.firmware);
}

/**
 * The share slots of a resumed session: those it had, in their slots (an empty stand-in for a
 * directory that is gone), then this start's new ones.
 */
function sharesAfter(ctx: BootContext, plugged: readonly string[]): string[] {
  const slots = plugged.map((d) => (existsSync(d) ? d : ctx.config.paths.emptyShare));
  if (slots.includes(ctx.config.paths.emptyShare))
    mkdirSync(ctx.config.paths.emptyShare, { recursive: true, mode: 0o700 });
  for (const d of ctx.shares) if (!slots.includes(d)) slots.push(d);
  if (slots.length > SHARE_SLOTS) {
    throw new EmulatorError(
      'HOST_SHARE_FAILED',
      `the saved session already shares ${plugged.length} directories (${plugged.join(', ')}); a VM has ${SHARE_SLOTS} share slots`,
      { hint: 'stop and start with --no-snapshot, or `stack-emulator reset`, to free the slots' },
    );
  }
  return slots;
}

/**
 * `--ephemeral` (and the behaviour before sessions): the golden snapshot on a fresh overlay in run/vm
 * every start, or a cold boot on a fresh overlay; nothing is kept.
 */
export async function bootEphemeral(ctx: BootContext): Promise<Booted> {
  const p = ctx.config.paths;
  const golden = await goldenSnapshot(ctx);
  let coldReason = golden.entry ? undefined : golden.reason;
  if (golden.entry) {
    const entry = golden.entry;
    try {
      const b = await stepped(
        ctx,
        `resuming snapshot ${entry.id.slice(0, 8)}`,
        (r) => `resumed${r.secrets === 'fresh' ? ' and rotated secrets' : ' (rotation disabled)'}`,
        () => resumeSnapshot(ctx, entry, { disk: p.ephemeralDisk, fresh: true }),
      );
      await goldenResumed(ctx, entry);
      return { ...b, mode: 'resumed', layout: 'snapshot', format: entry.meta.key.format, snapshotId: entry.id };
    } catch (e) {
      if (!recoverable(ctx, e)) throw e;
      coldReason = await goldenFailed(ctx, entry, e);
    }
  }
  const b = await stepped(
    ctx,
    'cold boot',
    (r) => `cold boot: healthy${secretsNote(r.secrets)}`,
    () => coldBoot(ctx, { disk: p.ephemeralDisk, freshOn: ctx.image.path, layout: 'cold' }),
  );
  return { ...b, mode: 'cold', layout: 'cold', coldReason: coldReason ?? 'no snapshot' };
}

/** Errors a fallback may follow; an interrupt, a share problem or a failing accelerator are the caller's. */
function recoverable(ctx: BootContext, e: unknown): boolean {
  if (e instanceof EmulatorError && (e.code === 'INTERRUPTED' || e.code === 'HOST_SHARE_FAILED')) return false;
  return !accelFailure(ctx);
}

/**
 * Every start that keeps data: the saved session resumed when its RAM state fits, else its disk
 * cold-booted (data kept, reason given); with no session, a disk an earlier tool left is adopted,
 * else a new session begins on the golden snapshot (rotated), or on a fresh disk when there is none.
 */
export async function bootSession(ctx: BootContext): Promise<Booted> {
  const s = ctx.session;
  if (s) return continueSession(ctx, s);
  const earlier = await earlierDisk(ctx.config, ctx.image);
  if (earlier) {
    const store = sessionStore(ctx.config);
    const meta = await store.adopt({
      image: ctx.image.path,
      disk: earlier.disk,
      signal: ctx.signal,
      meta: { origin: 'adopted', image: { digest: ctx.image.digest, choice: imageChoiceId(ctx.config.image) } },
    });
    await forgetEarlierDisk(ctx.config);
    usePinned(ctx, { store, meta });
    const reason = `continuing on the disk ${earlier.from} left (data kept)`;
    ctx.reporter.info(reason);
    return coldOnSession(ctx, { store, meta }, reason);
  }
  return newSession(ctx);
}

async function continueSession(ctx: BootContext, s: Session): Promise<Booted> {
  let reason = ramProblem(ctx, s);
  const wanted = ctx.shares;
  if (!reason && s.meta.ram) {
    const ram = s.meta.ram;
    try {
      ctx.shares = sharesAfter(ctx, ram.plugged);
      const b = await stepped(
        ctx,
        'resuming the saved session',
        (r) => `resumed the saved session${secretsNote(r.secrets)}`,
        () => resumeSession(ctx, s),
      );
      return { ...b, mode: 'session', layout: 'snapshot', format: ram.key.format };
    } catch (e) {
      if (!recoverable(ctx, e)) throw e;
      ctx.shares = wanted;
      reason = `the session resume failed: ${(e as Error).message}`;
    }
  } else if (s.meta.ram) {
    await s.store.discardRam();
  }
  ctx.reporter.warn(`${reason}; cold boot on the session's disk (data kept)`);
  return coldOnSession(ctx, s, reason!);
}

async function coldOnSession(ctx: BootContext, s: Session, reason: string): Promise<Booted> {
  const previousKey = s.meta.clientKey ?? (await keyInFile(ctx.config.paths.internalPck));
  await s.store.discardMemory(); // a RAM file left by a VM that did not save: it does not match the disk
  const where = sessionLayout(ctx);
  const b = await stepped(
    ctx,
    "cold boot on the session's disk",
    (r) => `cold boot: healthy${secretsNote(r.secrets)}`,
    () => coldBoot(ctx, { disk: s.store.disk, layout: where.layout, previousKey }),
  );
  return { ...b, mode: 'cold', ...where, coldReason: reason };
}

async function newSession(ctx: BootContext): Promise<Booted> {
  const image = ctx.image;
  const boot = ctx.boot;
  const golden = await goldenSnapshot(ctx);
  let coldReason = golden.entry ? undefined : golden.reason;
  if (golden.entry) {
    const entry: SnapshotEntry = golden.entry;
    const s = await createSession(ctx, { golden: entry });
    usePinned(ctx, s);
    ctx.sessionCreated = true;
    try {
      const b = await stepped(
        ctx,
        `resuming snapshot ${entry.id.slice(0, 8)}`,
        (r) => `resumed${r.secrets === 'fresh' ? ' and rotated secrets' : ' (rotation disabled)'}`,
        // A template's session runs on its own copy of the template's RAM file, mapped shared: the
        // stop then saves the device state only (see ARCHITECTURE.md, "Sessions and template RAM").
        () =>
          resumeSnapshot(ctx, entry, {
            disk: s.store.disk,
            fresh: false,
            ...(entry.ramPath ? { ownMemory: () => s.store.cloneMemory(entry.ramPath!, { signal: ctx.signal }) } : {}),
          }),
      );
      await goldenResumed(ctx, entry);
      return { ...b, mode: 'resumed', layout: 'snapshot', format: entry.meta.key.format, snapshotId: entry.id };
    } catch (e) {
      if (!recoverable(ctx, e)) throw e;
      coldReason = await goldenFailed(ctx, entry, e);
      // Nothing was written to this session's disk that matters: the cold boot starts on the image.
      await s.store.drop();
      ctx.session = undefined;
      ctx.image = image;
      ctx.boot = boot;
    }
  }
  const s = await createSession(ctx);
  usePinned(ctx, s);
  ctx.sessionCreated = true;
  const where = sessionLayout(ctx);
  const b = await stepped(
    ctx,
    'cold boot',
    (r) => `cold boot: healthy${secretsNote(r.secrets)}`,
    () => coldBoot(ctx, { disk: s.store.disk, layout: where.layout }),
  );
  return { ...b, mode: 'cold', ...where, coldReason: coldReason ?? 'no snapshot' };
}
