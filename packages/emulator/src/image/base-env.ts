import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { generateStackBaseEnv } from '@stack/emulator-image';
import { DEFAULT_REPO, type GitHubOptions, getRepoFile, isFetchError, releaseTag } from '@stack/release-fetcher';
import { writeFileAtomic } from '@stack/internal';
import type { EmulatorConfig } from '../config/resolve-config.js';
import { EmulatorError } from '../errors.js';
import {
  type BundledBaseEnv,
  bundledBaseEnvText,
  bundledNotice,
  describeBundled,
  unreachableReason,
} from './base-env-offline.js';
import { BUNDLED_BASE_ENV } from './bundled-base-env.js';

/** The base environment written to the config disk as base.env, and where it came from. */
export interface BaseEnv {
  text: string;
  /** sha256 of `text`; undefined when empty (part of the snapshot key: the guest reads it at boot). */
  digest: string | undefined;
  from: string;
}

/** Where `pull` keeps the base environment generated for a Stack image: beside it. */
export const baseEnvSidecar = (image: string) => `${image}.base.env`;

const digestOf = (text: string) => (text === '' ? undefined : createHash('sha256').update(text).digest('hex'));

/**
 * Generates the Stack base environment for the Stack repository at `ref` (the release tag an image
 * was built from): its two development env files, read through the GitHub contents API.
 */
export async function fetchStackBaseEnv(ref: string, options: GitHubOptions & { repo?: string }): Promise<string> {
  const repo = options.repo ?? DEFAULT_REPO;
  const [backend, dashboard] = await Promise.all(
    ['apps/backend/.env.development', 'apps/dashboard/.env.development'].map((p) => getRepoFile(repo, p, ref, options)),
  );
  return generateStackBaseEnv({ backend: backend!, dashboard: dashboard! }, { source: `${repo} at ${ref}` });
}

/** Writes a base environment beside an image (temp file and rename). */
export async function saveBaseEnv(image: string, text: string): Promise<void> {
  await writeFileAtomic(baseEnvSidecar(image), text, { mode: 0o644 });
}

/** How long a start waits for GitHub before it takes the bundled base environment instead. */
const GITHUB_DEADLINE_MS = 20_000;

/**
 * The base environment of this start: `--base-env`/EMULATOR_BASE_ENV when given; for the Stack image
 * the one `pull` generated beside it (an image pulled by an older version or the original gets one
 * now, from the rolling release's sources); empty for the reference appliance and other images
 * (they carry their own). When GitHub cannot be reached, the one bundled with this package (see
 * base-env-offline.ts), with a warning naming its release. The Stack image's services refuse to
 * start without it, so a Stack image without one is an error that says how to get it, never an
 * empty file.
 */
export async function resolveBaseEnv(
  config: EmulatorConfig,
  image: { kind: string; path: string },
  options: {
    token?: string;
    signal?: AbortSignal;
    onPhase?: (t: string) => void;
    /** Told when the bundled base environment is used. @default nothing */
    warn?: (t: string) => void;
    /** The bundled base environment; null: none (as a build without one). @default BUNDLED_BASE_ENV */
    bundled?: BundledBaseEnv | null;
    /** How long GitHub may take, retries included. @default 20 s */
    deadlineMs?: number;
  } = {},
): Promise<BaseEnv> {
  if (config.baseEnvFile) {
    const text = await readFile(config.baseEnvFile, 'utf8').catch((e: Error) => {
      throw new EmulatorError(
        'CONFIG_INVALID',
        `cannot read the base environment ${config.baseEnvFile}: ${e.message}`,
        { hint: 'fix the path given to --base-env or EMULATOR_BASE_ENV' },
      );
    });
    if (text.trim() === '')
      throw new EmulatorError('CONFIG_INVALID', `the base environment ${config.baseEnvFile} is empty`, {
        hint: 'generate it with tools/stack-base-env <stack checkout>',
      });
    return { text, digest: digestOf(text), from: config.baseEnvFile };
  }
  if (image.kind !== 'stack') return { text: '', digest: undefined, from: 'none (the image carries its own)' };
  const sidecar = baseEnvSidecar(image.path);
  if (existsSync(sidecar)) {
    const text = await readFile(sidecar, 'utf8');
    if (text.trim() !== '') return { text, digest: digestOf(text), from: sidecar };
  }
  const ref = releaseTag('dev');
  options.onPhase?.(`no base environment beside the Stack image yet: generating it from ${DEFAULT_REPO} at ${ref}`);
  // GitHub first, even with a bundled one: it has the sources of the release the image most likely
  // came from. A black-holed network would otherwise cost three connect timeouts and the retries'
  // pauses on every offline start (the bundled one is never saved, see below).
  const deadlineMs = options.deadlineMs ?? GITHUB_DEADLINE_MS;
  const deadline = AbortSignal.timeout(deadlineMs);
  try {
    const text = await fetchStackBaseEnv(ref, {
      apiBase: config.githubApi,
      token: options.token,
      signal: options.signal ? AbortSignal.any([options.signal, deadline]) : deadline,
      env: config.env,
    });
    await saveBaseEnv(image.path, text);
    return { text, digest: digestOf(text), from: sidecar };
  } catch (e) {
    const reason =
      isFetchError(e) && e.code === 'FETCH_ABORTED' && deadline.aborted && !options.signal?.aborted
        ? `no answer within ${deadlineMs / 1000} s`
        : unreachableReason(e);
    const bundled = options.bundled === undefined ? BUNDLED_BASE_ENV : options.bundled;
    if (bundled && reason && !options.signal?.aborted) {
      // Not saved beside the image: the sidecar stands for the image's own release (pull writes the
      // one of the release it downloads), and the bundled one is only the newest this package knew.
      // Kept, it would stay with the image for good; unsaved, the next start that reaches GitHub
      // generates the rolling release's. Generated with the same header as that one, it has the same
      // digest while the release's env files are unchanged, so a snapshot captured offline still fits.
      options.warn?.(bundledNotice(bundled, reason));
      const text = bundledBaseEnvText(bundled);
      return { text, digest: digestOf(text), from: `bundled with @stack/emulator (${describeBundled(bundled)})` };
    }
    throw new EmulatorError(
      'BASE_ENV_MISSING',
      `the Stack image needs its base environment (base.env), and none is beside it (${sidecar}); generating one from ${DEFAULT_REPO} failed: ${reason ?? (isFetchError(e) ? e.message : (e as Error).message)}`,
      {
        cause: e,
        hint: 'run `stack-emulator pull` (it fetches the image and its base environment), or pass --base-env <file> (tools/stack-base-env <stack checkout> writes one)',
      },
    );
  }
}
