import { existsSync } from 'node:fs';
import { bootFilesDir, readBootFiles } from '@stack/emulator-image';
import { ramMismatch, type SessionMeta, type SessionStore, type SnapshotEntry } from '@stack/snapshot-cache';
import { processIdentity } from '@stack/internal';
import type { EmulatorConfig, ImageChoice } from '../config/resolve-config.js';
import { EmulatorError } from '../errors.js';
import type { BootEnv } from '../boot/boot-env.js';
import { compatibilityKey } from '../vm/vm-spec.js';
import { baseEnvSidecar } from '../image/base-env.js';
import { sessionStore } from './store.js';

export { sessionStore };
import { cachedBootMode, guestBoot, type ImageCacheOptions, type ResolvedImage } from '../image/image.js';

/** The saved session of a home, when there is one (see snapshot-cache SessionStore). */
export interface Session {
  store: SessionStore;
  meta: SessionMeta;
}

/** How a session names the image choice it was made with: `stack`, `reference` or `path:<file>`. */
export const imageChoiceId = (c: ImageChoice): string => (c.kind === 'path' ? `path:${c.path}` : c.kind);

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
export async function pinnedImage(
  config: EmulatorConfig,
  s: Session,
  options: ImageCacheOptions & { signal?: AbortSignal } = {},
): Promise<ResolvedImage> {
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
    config.arch === 'amd64' && !boot ? await cachedBootMode(config, path, s.meta.image.digest, options) : undefined;
  return { kind: config.image.kind, path, digest: s.meta.image.digest, boot, bootMode };
}

/** Why the session's saved RAM state cannot be resumed by this start, or undefined when it can. */
export function ramProblem(env: BootEnv, meta: SessionMeta): string | undefined {
  if (!meta.ram) {
    if (meta.running)
      return `the last session did not stop cleanly (QEMU was killed or the host went down since ${meta.running.since}): its disk boots as after a power cut`;
    return meta.lastStop && !meta.lastStop.saved
      ? 'the session was stopped without saving its RAM state'
      : 'the session has no saved RAM state';
  }
  const config = env.op.config;
  if (!config.snapshot) return 'snapshots are disabled (--no-snapshot or EMULATOR_NO_SNAPSHOT=1)';
  if (env.snapshots.format === undefined) return env.snapshots.reason;
  const m = ramMismatch(meta.ram, compatibilityKey(env, meta.ram.key.format));
  return m ? `the saved session does not fit this start (${m})` : undefined;
}

/** The image as a session pins it (its link inside the session, with its boot files). */
export function pinnedTarget(env: BootEnv, store: SessionStore): Pick<BootEnv, 'image' | 'boot'> {
  const image = { ...env.image, path: store.image, boot: readBootFiles(store.image) };
  return { image, boot: guestBoot(env.op.config.arch, image, env.host.probe.firmware) };
}

/**
 * Makes the session for this start: on a golden snapshot's frozen disk, or fresh on the image. The
 * image, its boot files and its base environment are pinned inside it, so the VM never depends on
 * files `pull` replaces.
 */
export async function createSession(env: BootEnv, options: { golden?: SnapshotEntry } = {}): Promise<Session> {
  const { config } = env.op;
  const store = sessionStore(config);
  const img = env.image.path;
  const files: Record<string, string> = env.baseEnv.text ? { [baseEnvSidecar('image.qcow2')]: env.baseEnv.text } : {};
  const meta = await store.create({
    image: img,
    bootDir: existsSync(bootFilesDir(img)) ? bootFilesDir(img) : undefined,
    golden: options.golden?.diskPath,
    files,
    signal: env.op.signal,
    meta: {
      origin: options.golden ? 'golden' : 'image',
      image: { digest: env.image.digest, choice: imageChoiceId(config.image) },
      ...(options.golden ? { snapshotId: options.golden.id } : {}),
    },
  });
  return { store, meta };
}
