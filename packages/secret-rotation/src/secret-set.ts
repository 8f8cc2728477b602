import { RotationError } from './errors.js';
import { randomBytes } from 'node:crypto';

/** The secrets rotated at every start, in the order the guest hook reads them (guest contract). */
export const SECRET_NAMES = [
  'STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY',
  'STACK_INTERNAL_PROJECT_SECRET_SERVER_KEY',
  'STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY',
  'CRON_SECRET',
] as const;

export type SecretName = (typeof SECRET_NAMES)[number];
export type SecretSet = Readonly<Record<SecretName, string>>;

/**
 * The public, non-secret values baked into snapshots: 32 `0` then 32 of `f`, `e`, `d`, `c`. A running
 * stack must never answer to these once rotated.
 */
export const PLACEHOLDERS: SecretSet = Object.freeze({
  STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY: `${'0'.repeat(32)}${'f'.repeat(32)}`,
  STACK_INTERNAL_PROJECT_SECRET_SERVER_KEY: `${'0'.repeat(32)}${'e'.repeat(32)}`,
  STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY: `${'0'.repeat(32)}${'d'.repeat(32)}`,
  CRON_SECRET: `${'0'.repeat(32)}${'c'.repeat(32)}`,
});

const SECRET_FORMAT = /^[0-9a-f]{64}$/;

/** Fresh secrets from the platform CSPRNG: 32 random bytes each, as 64 lowercase hex characters. */
export function generateSecrets(random: (size: number) => Buffer = randomBytes): SecretSet {
  const set = Object.fromEntries(SECRET_NAMES.map((name) => [name, random(32).toString('hex')])) as Record<
    SecretName,
    string
  >;
  return Object.freeze(validateSecrets(set));
}

/** Checks names and format (64 lowercase hex, not a placeholder); throws ROTATION_INVALID_OPTIONS naming the bad key, never its value. */
export function validateSecrets(set: Record<string, string>): SecretSet {
  for (const name of SECRET_NAMES) {
    const value = set[name];
    if (typeof value !== 'string' || !SECRET_FORMAT.test(value))
      throw new RotationError('ROTATION_INVALID_OPTIONS', `${name} must be 64 lowercase hex characters`);
    if (value === PLACEHOLDERS[name])
      throw new RotationError('ROTATION_INVALID_OPTIONS', `${name} is the public placeholder; generate a fresh value`);
  }
  const extra = Object.keys(set).filter((k) => !(SECRET_NAMES as readonly string[]).includes(k));
  if (extra.length) throw new RotationError('ROTATION_INVALID_OPTIONS', `unknown secret name(s): ${extra.join(', ')}`);
  return set as SecretSet;
}

/**
 * The names images built before the rename read (their hook checks for these and exits 1 without
 * them): the Stack image's `trigger-fast-rotate` of that generation. The super admin key and the cron
 * secret kept their names.
 */
export const LEGACY_SECRET_NAMES: Partial<Record<SecretName, string>> = Object.freeze({
  STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY: 'STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY',
  STACK_INTERNAL_PROJECT_SECRET_SERVER_KEY: 'STACK_SEED_INTERNAL_PROJECT_SECRET_SERVER_KEY',
});

/**
 * `KEY=VALUE` lines for the guest hook's stdin, LF-terminated: the four contract names in contract
 * order, then the older generation's names of the same values, so one input suits hooks of either
 * generation (guest contract: a hook ignores names it does not use).
 */
export function encodeEnvLines(set: SecretSet): string {
  const legacy = SECRET_NAMES.flatMap((name) =>
    LEGACY_SECRET_NAMES[name] ? [`${LEGACY_SECRET_NAMES[name]}=${set[name]}\n`] : [],
  );
  return [...SECRET_NAMES.map((name) => `${name}=${set[name]}\n`), ...legacy].join('');
}
