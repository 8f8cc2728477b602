import { readFile } from 'node:fs/promises';
import type { EmulatorConfig } from '../config/resolve-config.js';
import type { Op } from '../context/op.js';
import { EmulatorError } from '../errors.js';
import type { InstanceState } from './state.js';

export interface Credentials {
  projectId: string;
  publishableClientKey: string;
  /** Only for a project initialised from a config file. */
  secretServerKey?: string;
  apiUrl: string;
  dashboardUrl: string;
}

async function internalPck(config: EmulatorConfig): Promise<string> {
  const pck = (await readFile(config.paths.internalPck, 'utf8').catch(() => '')).trim();
  if (!pck)
    throw new EmulatorError('NOT_RUNNING', `no published client key at ${config.paths.internalPck}`, {
      hint: 'start the emulator with `stack-emulator start`',
    });
  return pck;
}

/**
 * Credentials of the running instance: the internal project (its current publishable client key),
 * or, with a config file, the project the backend initialises for it (as the original's
 * `/api/v1/internal/local-emulator/project`, authenticated with the internal client key).
 */
export async function credentials(op: Op, state: InstanceState, configFile?: string): Promise<Credentials> {
  const { config } = op;
  const apiUrl = `http://127.0.0.1:${state.ports.backend}`;
  const dashboardUrl = `http://127.0.0.1:${state.ports.dashboard}`;
  const pck = await internalPck(config);
  if (!configFile) return { projectId: 'internal', publishableClientKey: pck, apiUrl, dashboardUrl };
  const shares = state.shares ?? (state.hostShare ? [state.hostShare] : []);
  if (!shares.some((d) => configFile.startsWith(`${d}/`))) {
    throw new EmulatorError(
      'PROJECT_INIT_FAILED',
      `${configFile} is not in a directory shared with the running emulator (${shares.join(', ') || 'none'})`,
      { hint: `stop it and start it with --config-file ${configFile}` },
    );
  }
  const post = () =>
    op.seams.services.request(state.ports.backend, '/api/v1/internal/local-emulator/project', {
      method: 'POST',
      headers: {
        'x-stack-project-id': 'internal',
        'x-stack-access-type': 'client',
        'x-stack-publishable-client-key': pck,
      },
      json: { absolute_file_path: configFile },
      timeout: 30_000,
    });
  // One more try when the connection was reset before any answer: a snapshot captured by an older
  // version holds guest sockets in TIME_WAIT that reset a new connection on the same host port
  // (see loopback-http.ts). The endpoint returns the same project for the same file, so a retry is safe.
  let r = await post();
  if (r.status === 0 && r.code === 'ECONNRESET') {
    await op.seams.clock.sleep(200);
    r = await post();
  }
  if (r.status === 0)
    throw new EmulatorError(
      'PROJECT_INIT_FAILED',
      `cannot reach the backend on port ${state.ports.backend}: ${r.error}`,
    );
  if (r.status !== 200)
    throw new EmulatorError(
      'PROJECT_INIT_FAILED',
      `failed to initialize the local emulator project (${r.status}): ${r.body.slice(0, 300)}`,
    );
  const body = JSON.parse(r.body) as { project_id: string; publishable_client_key: string; secret_server_key: string };
  return {
    projectId: body.project_id,
    publishableClientKey: body.publishable_client_key,
    secretServerKey: body.secret_server_key,
    apiUrl,
    dashboardUrl,
  };
}

/**
 * The environment variables the original's `run` injects (Next.js, Vite and Expo spellings), under
 * both brands: its newest SDKs read `HEXCLAVE_*` first, older ones `STACK_*`.
 */
export function credentialEnv(c: Credentials): Record<string, string> {
  const env: Record<string, string> = {};
  for (const brand of ['STACK', 'HEXCLAVE']) {
    for (const prefix of ['', 'NEXT_PUBLIC_', 'VITE_', 'EXPO_PUBLIC_']) {
      env[`${prefix}${brand}_PROJECT_ID`] = c.projectId;
      env[`${prefix}${brand}_PUBLISHABLE_CLIENT_KEY`] = c.publishableClientKey;
      env[`${prefix}${brand}_API_URL`] = c.apiUrl;
    }
    if (c.secretServerKey) env[`${brand}_SECRET_SERVER_KEY`] = c.secretServerKey;
  }
  return env;
}

/**
 * What `env` prints besides {@link credentialEnv}: the URLs the original's newer tools read to find a
 * running emulator (`STACK_EMULATOR_API_URL`, `STACK_EMULATOR_DASHBOARD_URL`). Not injected by `run`,
 * whose environment stays as the original's.
 */
export function emulatorUrlEnv(c: Credentials): Record<string, string> {
  return { STACK_EMULATOR_API_URL: c.apiUrl, STACK_EMULATOR_DASHBOARD_URL: c.dashboardUrl };
}
