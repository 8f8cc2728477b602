/**
 * The names the original `stack emulator` and its tools use for ports (see the CLI README,
 * "Variable names"). Its last versions made `STACK_EMULATOR_<SERVICE>_PORT` the first-read names (its
 * `exec`, `config` and `project` commands find the emulator through them), with the older
 * `EMULATOR_<SERVICE>_PORT` next: a user's tools and our VM must agree on the same ports.
 */

/** Each service's first-read name and the name read when it is unset. */
const PORT_NAMES = [
  { service: 'dashboard', first: 'STACK_EMULATOR_DASHBOARD_PORT', then: 'EMULATOR_DASHBOARD_PORT' },
  { service: 'backend', first: 'STACK_EMULATOR_BACKEND_PORT', then: 'EMULATOR_BACKEND_PORT' },
  { service: 'minio', first: 'STACK_EMULATOR_MINIO_PORT', then: 'EMULATOR_MINIO_PORT' },
  { service: 'inbucket', first: 'STACK_EMULATOR_INBUCKET_PORT', then: 'EMULATOR_INBUCKET_PORT' },
  { service: 'mockOauth', first: 'STACK_EMULATOR_MOCK_OAUTH_PORT', then: 'EMULATOR_MOCK_OAUTH_PORT' },
] as const;

export type PortService = (typeof PORT_NAMES)[number]['service'];

/** The variable that moves a service's host port (the first-read name). */
export function portVariable(service: PortService): string {
  return PORT_NAMES.find((p) => p.service === service)!.first;
}

/**
 * The environment with each set `STACK_EMULATOR_<SERVICE>_PORT` in place of `EMULATOR_<SERVICE>_PORT`,
 * so the one schema reads the winner. Unset or empty (empty means unset, as for every variable here):
 * the environment is returned unchanged. A value that is not a port throws, naming the variable (the
 * schema would otherwise name the older one); every bad one is listed.
 */
export function withCompatPortNames(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  const problems: string[] = [];
  for (const { first, then } of PORT_NAMES) {
    const raw = env[first];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > 65535) {
      problems.push(`${first}="${raw}" is not a TCP port; use an integer from 1 to 65535 (or unset it)`);
      continue;
    }
    out[then] = raw;
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return out;
}
