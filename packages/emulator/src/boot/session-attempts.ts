import { keyInFile } from '../guest/secrets.js';
import { earlierDisk, forgetEarlierDisk } from '../session/legacy-home.js';
import { imageChoiceId, pinnedTarget, type Session, sessionStore } from '../session/session.js';
import { bootKind, coldNote, secretsNote, sessionLayout, stepped } from './attempt-helpers.js';
import type { BootEnv } from './boot-env.js';
import type { Booted, OnLaunched } from './booted.js';
import { coldBoot } from './cold-boot.js';
import { resumeSession } from './resume.js';
import { sharesAfter } from './session-shares.js';

/** The saved session resumed: its disk, its RAM state, the shares it had (and this start's). */
export async function resumeSavedSession(env: BootEnv, s: Session, onLaunched: OnLaunched): Promise<Booted> {
  const ram = s.meta.ram!;
  const wanted = env.shares.map((dir) => ({ dir, readonly: env.readonlyShares.includes(dir) }));
  const shares = sharesAfter(ram.plugged, ram.readonly ?? [], wanted, env.op.config.paths.emptyShare);
  const target = pinnedTarget(env, s.store);
  const launching = { mode: 'session' as const, session: s, image: target.image.path, shares };
  const b = await stepped(
    env,
    'resuming the saved session',
    (r) => `resumed the saved session${secretsNote(r.secrets)}`,
    () => resumeSession(env, s, shares, launching, onLaunched),
  );
  const format = s.meta.ram!.key.format;
  return { ...b, ...launching, layout: 'snapshot', format, boot: bootKind(target) };
}

/** The session's disk booted, data kept; `reason` says why not its RAM state. */
export async function coldOnSession(env: BootEnv, s: Session, reason: string, onLaunched: OnLaunched): Promise<Booted> {
  const previousKey = s.meta.clientKey ?? (await keyInFile(env.op.config.paths.internalPck));
  // RAM state or a RAM file left beside the disk no longer matches it once it boots.
  await s.store.discardRam();
  await s.store.discardMemory();
  const where = sessionLayout(env);
  const target = pinnedTarget(env, s.store);
  const shares = [...env.shares];
  const launching = { mode: 'cold' as const, session: s, image: target.image.path, shares };
  const b = await stepped(env, "cold boot on the session's disk", coldNote, () =>
    coldBoot(env, { disk: s.store.disk, layout: where.layout, previousKey, target, shares, launching }, onLaunched),
  );
  return { ...b, ...launching, ...where, coldReason: reason, boot: bootKind(target) };
}

/** An earlier tool's disk moved into a new session (put back untouched if that fails), then booted. */
export async function adoptEarlierDisk(env: BootEnv, from: string, onLaunched: OnLaunched): Promise<Booted> {
  const { config } = env.op;
  const earlier = await earlierDisk(config, env.image);
  if (!earlier) throw new Error(`the disk ${from} left is gone`);
  const store = sessionStore(config);
  const meta = await store.adopt({
    image: env.image.path,
    disk: earlier.disk,
    signal: env.op.signal,
    meta: { origin: 'adopted', image: { digest: env.image.digest, choice: imageChoiceId(config.image) } },
  });
  await forgetEarlierDisk(config);
  const reason = `continuing on the disk ${earlier.from} left (data kept)`;
  env.op.reporter.info(reason);
  return coldOnSession(env, { store, meta }, reason, onLaunched);
}
