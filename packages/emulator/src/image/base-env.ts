import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { generateStackBaseEnv } from '@stack/emulator-image';
import { DEFAULT_REPO, type GitHubOptions, getRepoFile, isFetchError, releaseTag } from '@stack/release-fetcher';
import { writeFileAtomic } from '@stack/internal';
import type { EmulatorConfig } from '../config/resolve-config.js';
import { EmulatorError } from '../errors.js';

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

/**
 * The base environment of this start: `--base-env`/EMULATOR_BASE_ENV when given; for the Stack image
 * the one `pull` generated beside it (an image pulled by an older version or the original gets one
 * now, from the rolling release's sources); empty for the reference appliance and other images
 * (they carry their own). The Stack image's services refuse to start without it, so a Stack image
 * without one is an error that says how to get it, never an empty file.
 */
export async function resolveBaseEnv(
  config: EmulatorConfig,
  image: { kind: string; path: string },
  options: { token?: string; signal?: AbortSignal; onPhase?: (t: string) => void } = {},
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
  try {
    const text = await fetchStackBaseEnv(ref, {
      apiBase: config.githubApi,
      token: options.token,
      signal: options.signal,
    });
    await saveBaseEnv(image.path, text);
    return { text, digest: digestOf(text), from: sidecar };
  } catch (e) {
    throw new EmulatorError(
      'BASE_ENV_MISSING',
      `the Stack image needs its base environment (base.env), and none is beside it (${sidecar}); generating one from ${DEFAULT_REPO} failed: ${isFetchError(e) ? e.message : (e as Error).message}`,
      {
        cause: e,
        hint: 'run `stack-emulator pull` (it fetches the image and its base environment), or pass --base-env <file> (tools/stack-base-env <stack checkout> writes one)',
      },
    );
  }
}
