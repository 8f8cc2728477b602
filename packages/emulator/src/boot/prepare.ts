import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { SnapshotCache } from '@stack/snapshot-cache';
import { type EmulatorConfig, vcpuCount } from '../config/resolve-config.js';
import type { Op } from '../context/op.js';
import { chooseHostAccelerator, probeQemu, qemuProbeCache } from '../host/accel.js';
import { type BootEnv, mark } from './boot-env.js';
import { guestBoot, knownImageDigest, type ResolvedImage, resolveImage } from '../image/image.js';
import { describeOriginalSnapshots } from '../session/legacy-home.js';
import { openSession, pinnedImage, type Session } from '../session/session.js';
import { qemuHasDevice } from '@stack/qemu-argv';
import { baseEnvSidecar, resolveBaseEnv } from '../image/base-env.js';
import { imageFacts } from './image-facts.js';
import { checkHostShare } from '../host/host-share.js';
import { startShares } from './session-shares.js';
import { gitHubToken, stackImagePath } from '../image/pull.js';
import { assertPortsFree } from '../host/ports.js';
import { chooseSnapshotFormat } from '../host/snapshot-support.js';

/** Host probe, accelerator, free ports and the image: everything before a VM is launched. */
export async function prepareBoot(op: Op, t0: number): Promise<BootEnv> {
  const { config, reporter, signal, trace } = op;
  await mkdir(config.paths.vm, { recursive: true, mode: 0o700 });
  await new SnapshotCache(config.paths.snapshots).sweep();
  if (config.host.rosetta)
    reporter.warn(
      'Node runs under Rosetta (an x64 build on Apple Silicon): using an arm64 guest with HVF anyway; an arm64 Node starts faster',
    );
  const probe = await probeQemu(config);
  await assertPortsFree({ ...config.ports }, { platform: config.host.platform });
  const session = config.ephemeral ? undefined : await openSession(config);
  const shares = startShares(config.shareRoot, config.extraShares, session?.meta.ram?.readonly ?? []);
  if (shares.shares.length > 0) {
    const has9p = await qemuHasDevice(probe.binary, 'virtio-9p-pci', { cache: qemuProbeCache(config) });
    for (const dir of shares.shares) checkHostShare(dir, { platform: config.host.platform, has9p, qemu: probe.binary });
  }
  if (!config.ephemeral && !session && existsSync(config.paths.session))
    reporter.warn(
      `the session in ${config.paths.session} cannot be used (its meta.json or disk is missing or garbled): it is set aside as ${config.paths.session}.unreadable-<time>, its files kept there (\`stack-emulator prune\` removes it), and a new session begins`,
    );
  let image: ResolvedImage;
  if (session) {
    const warn = (text: string) => reporter.warn(text);
    image = await pinnedImage(config, session, { signal, warn });
    const newer = await newerImage(config, session, warn);
    reporter.info(
      `session: saved ${session.meta.lastStop?.at ?? session.meta.createdAt}, on the image it began with (sha256 ${image.digest.slice(0, 12)})${newer ? `; ${newer}` : ''}`,
    );
  } else {
    const step = reporter.step('image');
    image = await resolveImage(op, {
      signal,
      onPhase: (t) => step.update(`image: ${t}`),
      ...(reporter.progress ? { onProgress: (p) => reporter.progress!(p) } : {}),
    }).catch((e) => {
      step.fail();
      throw e;
    });
    step.succeed(`image: ${image.path}`);
  }
  const leftovers = describeOriginalSnapshots(config);
  if (leftovers) reporter.info(leftovers);
  const baseEnv = await resolveBaseEnv(config, image, {
    signal,
    onPhase: (t) => reporter.info(t),
    warn: (t) => reporter.warn(t),
    token: image.kind === 'stack' ? await gitHubTokenIfNeeded(config, image.path) : undefined,
  });
  // After the image: its own kernel is the best test of a hardware accelerator.
  const host = await chooseHostAccelerator(config, probe, {
    kernel: image.boot?.path,
    onVerify: (a) => reporter.info(`checking whether ${a} can run guests on this host (once)`),
    warn: (t) => reporter.warn(t),
  });
  reporter.info(`accelerator: ${host.accel} (${host.reason})`);
  trace.event('host', {
    qemu: probe.binary,
    version: probe.version,
    accelerators: probe.accelerators,
    firmware: probe.firmware,
    accel: host.accel,
    reason: host.reason,
  });
  const env: BootEnv = {
    op,
    host,
    accel: host.accel,
    cpus: vcpuCount(config.cpus, host.accel),
    image,
    boot: guestBoot(config.arch, image, host.probe.firmware),
    shares: shares.shares,
    readonlyShares: shares.readonly,
    snapshots: await chooseSnapshotFormat(config, probe, { warn: (t) => reporter.warn(t) }),
    baseEnv,
    ...(await imageFacts(config, image.digest, (t) => reporter.warn(t))),
    t0,
    // Building or pulling the image is this start's one-time cost, told apart from the start itself.
    timings: image.prepared ? { imageReady: op.seams.clock.now() - t0 } : {},
  };
  trace.event('plan', {
    image: image.path,
    digest: image.digest,
    boot: env.boot,
    snapshots: env.snapshots,
    session: session ? { origin: session.meta.origin, ram: Boolean(session.meta.ram) } : undefined,
    baseEnv: baseEnv.from,
  });
  mark(env, 'probed');
  return env;
}

/** A note when the image the session's choice names has changed since the session began (pull, rebuild). */
async function newerImage(
  config: EmulatorConfig,
  s: Session,
  warn: (text: string) => void,
): Promise<string | undefined> {
  const current =
    config.image.kind === 'stack'
      ? stackImagePath(config)
      : config.image.kind === 'path'
        ? config.image.path
        : undefined;
  const digest = current ? await knownImageDigest(config, current, { warn }) : undefined;
  return digest && digest !== s.meta.image.digest
    ? `a newer image is in place (${current}): \`stack-emulator reset\` moves to it, discarding the session's data`
    : undefined;
}

/** A GitHub token, asked for only when the Stack image has no base environment yet (gh is a spawn). */
async function gitHubTokenIfNeeded(config: EmulatorConfig, image: string): Promise<string | undefined> {
  return config.baseEnvFile || existsSync(baseEnvSidecar(image)) ? undefined : gitHubToken(config.env);
}
