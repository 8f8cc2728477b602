import { runProcess } from '@stack/internal';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  artifactName,
  DEFAULT_REPO,
  describeSource,
  type FetchError,
  fetchImage,
  type FetchImageResult,
  type ImageSource,
  imageAssetName,
  isFetchError,
  parseSha256Sidecar,
  type Progress,
  releaseTag,
} from '@stack/release-fetcher';
import { SnapshotCache } from '@stack/snapshot-cache';
import { sessionStore } from '../session/store.js';
import type { EmulatorConfig } from '../config/resolve-config.js';
import type { Op } from '../context/op.js';
import { EmulatorError } from '../errors.js';
import { fetchStackBaseEnv, saveBaseEnv } from './base-env.js';
import { lockInstance, runningInstance } from '../instance/instance.js';

/** Where to pull from (`pull` flags). */
export interface PullFlags {
  branch?: string;
  tag?: string;
  repo?: string;
  pr?: string;
  run?: string;
  url?: string;
  /** A local image file, or a directory holding `stack-emulator-<arch>.qcow2` (offline). */
  image?: string;
  sha256?: string;
  /** Seconds without data (or under 1 KiB/s) after which a transfer is stalled. @default 30 */
  timeout?: string;
  /** A base environment to keep beside the image instead of generating one (see base-env.ts). */
  baseEnv?: string;
}

/** GITHUB_TOKEN, else `gh auth token` when gh is installed and logged in, else anonymous. */
export async function gitHubToken(env: Readonly<Record<string, string | undefined>>): Promise<string | undefined> {
  if (env.GITHUB_TOKEN) return env.GITHUB_TOKEN;
  const r = await runProcess('gh', ['auth', 'token'], { timeout: 5000 }).catch(() => undefined);
  return r?.stdout.trim() || undefined;
}

/** Default location of the pulled Stack image (the original's file name). */
export function stackImagePath(config: EmulatorConfig): string {
  return join(config.paths.images, `stack-emulator-${config.arch}.qcow2`);
}

function pullSource(config: EmulatorConfig, flags: PullFlags): ImageSource {
  const repo = flags.repo ?? DEFAULT_REPO;
  const file = imageAssetName(config.arch);
  const chosen = [flags.pr, flags.run, flags.url, flags.image, flags.tag ?? flags.branch].filter(
    (x) => x !== undefined,
  );
  if (chosen.length > 1)
    throw new EmulatorError('CONFIG_INVALID', 'give only one of --pr, --run, --url, --image, --tag/--branch', {
      hint: 'pick one source',
    });
  if (flags.pr !== undefined) {
    const pr = Number(flags.pr);
    if (!Number.isInteger(pr) || pr < 1)
      throw new EmulatorError('CONFIG_INVALID', `--pr ${flags.pr} is not a pull request number`);
    return { kind: 'pr', repo, pr, artifact: artifactName(config.arch), file };
  }
  if (flags.run !== undefined) {
    if (!/^\d+$/.test(flags.run))
      throw new EmulatorError('CONFIG_INVALID', `--run ${flags.run} is not a workflow run id`);
    return { kind: 'run', repo, runId: flags.run, artifact: artifactName(config.arch), file };
  }
  if (flags.url !== undefined) {
    if (!/^https?:\/\//.test(flags.url))
      throw new EmulatorError('CONFIG_INVALID', `--url ${flags.url} must be an http(s) URL`);
    return { kind: 'url', url: flags.url };
  }
  if (flags.image !== undefined) return { kind: 'local', path: flags.image, file };
  return { kind: 'release', repo, tag: flags.tag ?? releaseTag(flags.branch ?? 'dev'), asset: file };
}

/** A FetchError as the CLI reports it: the user's input (exit 2) or a failed pull, with the fix. */
export function pullError(e: FetchError): EmulatorError {
  const input = e.code === 'FETCH_BAD_SOURCE' || e.code === 'FETCH_AUTH_REQUIRED' || e.code === 'FETCH_INSECURE';
  const hint =
    e.code === 'FETCH_CERTIFICATE' || e.code === 'FETCH_PROXY'
      ? undefined
      : 'the current image (if any) was left as it was';
  return new EmulatorError(input ? 'CONFIG_INVALID' : 'PULL_FAILED', e.message, {
    cause: e,
    ...(hint ? { hint } : {}),
  });
}

/** `--timeout` in seconds, as the stall window. */
function stallWindow(raw: string | undefined): { windowMs: number } | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 86_400)
    throw new EmulatorError('CONFIG_INVALID', `--timeout ${raw} is not a number of seconds from 1 to 86400`);
  return { windowMs: Number(raw) * 1000 };
}

/** Checks the pull's flags (one source, numbers that are numbers) without touching anything: bad input is reported before the host or the network is. */
export function checkPullFlags(config: EmulatorConfig, flags: PullFlags): void {
  pullSource(config, flags);
  stallWindow(flags.timeout);
}

export interface PullResult extends FetchImageResult {
  /** Snapshots keyed to the replaced image, deleted after the swap. */
  droppedSnapshots: number;
  unchanged: boolean;
  /** Where the image's base environment came from, or why there is none yet. */
  baseEnv: { from: string } | { missing: string };
  /** What happens to a saved session on another image: it stays on its own (pinned) image until `reset`. */
  session?: string;
}

/** The Stack sources a pulled image was built from: the ref whose development env files make its base environment. */
function sourceRef(source: ImageSource, flags: PullFlags): string | undefined {
  if (source.kind === 'release') return source.tag;
  if (source.kind === 'pr') return `refs/pull/${source.pr}/head`;
  if (source.kind === 'run') return releaseTag(flags.branch ?? 'dev');
  return undefined;
}

/** Keeps the image's base environment beside it: given, beside a local source, or generated for its sources. */
async function pullBaseEnv(
  dest: string,
  source: ImageSource,
  flags: PullFlags,
  options: { token?: string; apiBase?: string; signal?: AbortSignal; repo: string },
): Promise<PullResult['baseEnv']> {
  // A local image may carry its base environment beside it, as a pulled one does.
  const local =
    source.kind === 'local'
      ? statSync(source.path).isDirectory()
        ? join(source.path, source.file ?? basename(dest))
        : source.path
      : undefined;
  const given = flags.baseEnv ?? (local && existsSync(`${local}.base.env`) ? `${local}.base.env` : undefined);
  if (given) {
    await saveBaseEnv(dest, await readFile(given, 'utf8'));
    return { from: given };
  }
  const ref = sourceRef(source, flags);
  if (!ref)
    return {
      missing: `${describeSource(source)} says nothing of the Stack sources it was built from: pass --base-env <file> (tools/stack-base-env <stack checkout> writes one); otherwise start generates one from the rolling release (without GitHub, it uses the one bundled with this package)`,
    };
  try {
    await saveBaseEnv(
      dest,
      await fetchStackBaseEnv(ref, {
        repo: options.repo,
        token: options.token,
        apiBase: options.apiBase,
        signal: options.signal,
      }),
    );
    return { from: `${options.repo} at ${ref}` };
  } catch (e) {
    return {
      missing: `generating it from ${options.repo} at ${ref} failed (${(e as Error).message}); start tries again, or pass --base-env`,
    };
  }
}

/**
 * Downloads the Stack image into place. The current image and its snapshots stay usable until the new
 * one is verified and renamed over it; only then are snapshots keyed to the old image deleted.
 */
export async function pullImage(
  op: Op,
  flags: PullFlags,
  options: {
    onProgress?: (p: Progress) => void;
    onPhase?: (t: string) => void;
    onRetry?: (e: Error, attempt: number, resumeAt: number) => void;
    signal?: AbortSignal;
    locked?: boolean;
  },
): Promise<PullResult> {
  const { config } = op;
  const lock = options.locked ? undefined : await lockInstance(op, 'pull');
  try {
    const running = await runningInstance(op);
    if (running)
      throw new EmulatorError('ALREADY_RUNNING', `the emulator is running (pid ${running.pid}) on the current image`, {
        hint: 'run `stack-emulator stop` first',
      });
    const dest = stackImagePath(config);
    const oldDigest = existsSync(`${dest}.sha256`)
      ? parseSha256Sidecar(await readFile(`${dest}.sha256`, 'utf8'), basename(dest))
      : undefined;
    let result: FetchImageResult;
    const stall = stallWindow(flags.timeout);
    try {
      const source = pullSource(config, flags);
      // Only GitHub sources need a token; asking `gh` for one costs a process spawn.
      const token = source.kind === 'url' || source.kind === 'local' ? undefined : await gitHubToken(config.env);
      result = await fetchImage({
        source,
        dest,
        sha256: flags.sha256,
        token,
        apiBase: config.githubApi,
        signal: options.signal,
        stall,
        onProgress: options.onProgress,
        onPhase: options.onPhase,
        onRetry: options.onRetry,
        onWarn: (t) => op.reporter.warn(t),
      });
    } catch (e) {
      if (options.signal?.aborted)
        throw new EmulatorError('INTERRUPTED', 'pull interrupted; the next pull resumes the download', { cause: e });
      if (isFetchError(e)) throw pullError(e);
      throw e;
    }
    const baseEnv = await pullBaseEnv(dest, pullSource(config, flags), flags, {
      token: await gitHubToken(config.env),
      apiBase: config.githubApi,
      signal: options.signal,
      repo: flags.repo ?? DEFAULT_REPO,
    });
    let dropped = 0;
    const cache = new SnapshotCache(config.paths.snapshots);
    for (const entry of await cache.list()) {
      // Only snapshots of the image that was replaced: the cache also holds other images' snapshots.
      if (oldDigest !== undefined && oldDigest !== result.sha256 && entry.meta.key.imageDigest === oldDigest) {
        await cache.remove(entry);
        dropped++;
      }
    }
    const session = await sessionStore(config).read();
    const note =
      session && session.image.choice === 'stack' && session.image.digest !== result.sha256
        ? 'the saved session keeps running on the image it began with (kept inside it, with its data); `stack-emulator reset` discards the session so the next start uses the new image'
        : undefined;
    return {
      ...result,
      droppedSnapshots: dropped,
      unchanged: oldDigest === result.sha256,
      baseEnv,
      ...(note ? { session: note } : {}),
    };
  } finally {
    await lock?.release();
  }
}
