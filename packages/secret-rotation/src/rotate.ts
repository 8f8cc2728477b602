import { exec, type QgaClient, isQgaError } from '@stack/qga-protocol';
import type { CallOptions } from '@stack/internal';
import { RotationError, RotationHookError } from './errors.js';
import { encodeEnvLines, generateSecrets, type SecretSet, validateSecrets } from './secret-set.js';

/** The guest hook of the contract. */
export const ROTATE_HOOK = '/usr/local/bin/trigger-fast-rotate';

export interface RotateOptions extends CallOptions {
  /** Guest path of the hook. @default "/usr/local/bin/trigger-fast-rotate" */
  hook?: string;
  /** The values to push. @default a fresh set from the platform CSPRNG */
  secrets?: SecretSet;
  /**
   * Longest pause between exit-status polls of the hook. A rotation takes tenths of a second, so a
   * long pause would be a large share of it. @default 20
   */
  maxPollInterval?: number;
}

/** Replaces every secret value in `text` by `<redacted>`. */
export function redact(text: string, secrets: SecretSet): string {
  let out = text;
  for (const v of Object.values(secrets)) out = out.split(v).join('<redacted>');
  return out;
}

/**
 * Pushes a secret set into the guest: the hook gets `KEY=VALUE` lines on stdin (guest-exec
 * input-data over the agent socket: never argv, never an environment, never a file on the host) and
 * must exit 0 only once the services answer with the new values. Resolves with the set it pushed.
 */
export async function rotateSecrets(qga: QgaClient, options: RotateOptions = {}): Promise<SecretSet> {
  const hook = options.hook ?? ROTATE_HOOK;
  const secrets = options.secrets ? validateSecrets({ ...options.secrets }) : generateSecrets();
  let result: Awaited<ReturnType<typeof exec>>;
  try {
    result = await exec(qga, {
      path: hook,
      input: encodeEnvLines(secrets),
      timeout: options.timeout ?? 60_000,
      signal: options.signal,
      maxPollInterval: options.maxPollInterval ?? 20,
    });
  } catch (e) {
    const what = isQgaError(e) ? `${e.code}: ${e.message}` : String(e);
    throw new RotationError(
      'ROTATION_AGENT_FAILED',
      `could not run ${hook} through the guest agent (${redact(what, secrets)})`,
      { cause: e },
    );
  }
  if (result.exitCode !== 0)
    throw new RotationHookError(hook, result.exitCode, result.signal, redact(result.stderr.toString('utf8'), secrets));
  return secrets;
}
