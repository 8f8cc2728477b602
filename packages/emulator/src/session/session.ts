import { existsSync } from 'node:fs';
import { bootFilesDir, readBootFiles } from '@stack/emulator-image';
import { ramMismatch, type SessionMeta, SessionStore, type SnapshotEntry } from '@stack/snapshot-cache';
import { processIdentity } from '@stack/internal';
import type { EmulatorConfig, ImageChoice } from '../config/resolve-config.js';
import { EmulatorError } from '../errors.js';
import { type BootContext, compatibilityKey } from '../boot/boot-context.js';
import { baseEnvSidecar } from '../image/base-env.js';
import { cachedBootMode, type ResolvedImage } from '../image/image.js';

/** The saved session of a home, when there is one (see snapshot-cache SessionStore). */
export interface Session {
  store: SessionStore;
  meta: SessionMeta;
}

/** How a session names the image choice it was made with: `stack`, `reference` or `path:<file>`. */
export const imageChoiceId = (c: ImageChoice): string => (c.kind === 'path' ? `path:${c.path}` : c.kind);

export function sessionStore(config: EmulatorConfig): SessionStore {
  return new SessionStore(config.paths.session, { platform: config.host.platform });
}

/** The home's session, after clearing what a killed command left beside it. */
export async function openSession(config: EmulatorConfig): Promise<Session | undefined> {
  const store = sessionStore(config);
  await store.sweep((pid) => processIdentity(pid)?.alive === true);
  const meta = await store.read();
  return meta ? { store, meta } : undefined;
}

/**
 * A session runs on the image it began on (linked inside it, with its boot files and base
 * environment), whatever has been pulled or rebuilt since. Another image choice than the session's
 * is refused rather than guessed at: the fix is `reset` (drop the session) or `--ephemeral`.
 */
export async function pinnedImage(config: EmulatorConfig, s: Session, signal?: AbortSignal): Promise<ResolvedImage> {
  const want = imageChoiceId(config.image);
  if (s.meta.image.choice !== want) {
    throw new EmulatorError(
      'SESSION_IMAGE_MISMATCH',
      `the saved session in ${s.store.dir} runs on --image ${s.meta.image.choice.replace(/^path:/, '')}, not ${want.replace(/^path:/, '')}`,
      {
        hint: 'start with that image to continue the session; `stack-emulator reset` discards the session (and its data); --ephemeral runs the other image without touching it',
      },
    );
  }
  const path = s.store.image;
  const boot = readBootFiles(path);
  const bootMode =
    config.arch === 'amd64' && !boot ? await cachedBootMode(config, path, s.meta.image.digest, signal) : undefined;
  return { kind: config.image.kind, path, digest: s.meta.image.digest, boot, bootMode };
}

/** Why the session's saved RAM state cannot be resumed by this start, or undefined when it can. */
export function ramProblem(ctx: BootContext, s: Session): string | undefined {
  const { meta } = s;
  if (!meta.ram) {
    if (meta.running)
      return `the last session did not stop cleanly (QEMU was killed or the host went down since ${meta.running.since}): its disk boots as after a power cut`;
    return meta.lastStop && !meta.lastStop.saved
      ? 'the session was stopped without saving its RAM state'
      : 'the session has no saved RAM state';
  }
  if (!ctx.config.snapshot) return 'snapshots are disabled (--no-snapshot or EMULATOR_NO_SNAPSHOT=1)';
  if (ctx.snapshots.format === undefined) return ctx.snapshots.reason;
  const m = ramMismatch(meta.ram, compatibilityKey(ctx, meta.ram.key.format));
  return m ? `the saved session does not fit this start (${m})` : undefined;
}

/**
 * Makes the session for this start: on a golden snapshot's frozen disk, or fresh on the image. The
 * image, its boot files and its base environment are pinned inside it, and the context switches to
 * the pinned copy, so the VM never depends on files `pull` replaces.
 */
export async function createSession(ctx: BootContext, options: { golden?: SnapshotEntry } = {}): Promise<Session> {
  const store = sessionStore(ctx.config);
  const img = ctx.image.path;
  const files: Record<string, string> = ctx.baseEnv.text ? { [baseEnvSidecar('image.qcow2')]: ctx.baseEnv.text } : {};
  const meta = await store.create({
    image: img,
    bootDir: existsSync(bootFilesDir(img)) ? bootFilesDir(img) : undefined,
    golden: options.golden?.diskPath,
    files,
    signal: ctx.signal,
    meta: {
      origin: options.golden ? 'golden' : 'image',
      image: { digest: ctx.image.digest, choice: imageChoiceId(ctx.config.image) },
      ...(options.golden ? { snapshotId: options.golden.id } : {}),
    },
  });
  return { store, meta };
}
