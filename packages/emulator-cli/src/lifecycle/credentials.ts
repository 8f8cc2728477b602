import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { EmulatorConfig } from '../config/resolve-config.js';
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
  if (!pck) throw new EmulatorError('NOT_RUNNING', `no published client key at ${config.paths.internalPck}`, { hint: 'start the emulator with `stack-emulator start`' });
  return pck;
}

function postJson(port: number, path: string, headers: Record<string, string>, body: unknown, timeoutMs: number): Promise<{ status: number; text: string }> {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', timeout: timeoutMs, headers: { ...headers, 'content-type': 'application/json', 'content-length': String(data.length) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

/**
 * Credentials of the running instance: the internal project (its current publishable client key),
 * or, with a config file, the project the backend initialises for it (as the original's
 * `/api/v1/internal/local-emulator/project`, authenticated with the internal client key).
 */
export async function credentials(config: EmulatorConfig, state: InstanceState, configFile?: string): Promise<Credentials> {
  const apiUrl = `http://127.0.0.1:${state.ports.backend}`;
  const dashboardUrl = `http://127.0.0.1:${state.ports.dashboard}`;
  const pck = await internalPck(config);
  if (!configFile) return { projectId: 'internal', publishableClientKey: pck, apiUrl, dashboardUrl };
  if (state.hostShare === undefined || !configFile.startsWith(`${state.hostShare}/`)) {
    throw new EmulatorError('PROJECT_INIT_FAILED', `${configFile} is not in the directory shared with the running emulator (${state.hostShare ?? 'none'})`, { hint: `stop it and start it with --config-file ${configFile}` });
  }
  const post = () => postJson(
    state.ports.backend,
    '/api/v1/internal/local-emulator/project',
    { 'x-stack-project-id': 'internal', 'x-stack-access-type': 'client', 'x-stack-publishable-client-key': pck },
    { absolute_file_path: configFile },
    30_000,
  );
  // One more try when the connection was reset before any answer: a snapshot captured by an older
  // version holds guest sockets in TIME_WAIT that reset a new connection on the same host port
  // (see httpGet). The endpoint returns the same project for the same file, so a retry is safe.
  const r = await post().catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'ECONNRESET') throw e;
    await new Promise((resolve) => setTimeout(resolve, 200));
    return post();
  }).catch((e: Error) => {
    throw new EmulatorError('PROJECT_INIT_FAILED', `cannot reach the backend on port ${state.ports.backend}: ${e.message}`, { cause: e });
  });
  if (r.status !== 200) throw new EmulatorError('PROJECT_INIT_FAILED', `failed to initialize the local emulator project (${r.status}): ${r.text.slice(0, 300)}`);
  const body = JSON.parse(r.text) as { project_id: string; publishable_client_key: string; secret_server_key: string };
  return { projectId: body.project_id, publishableClientKey: body.publishable_client_key, secretServerKey: body.secret_server_key, apiUrl, dashboardUrl };
}

/** The environment variables the original's `run` injects (Next.js, Vite and Expo spellings). */
export function credentialEnv(c: Credentials): Record<string, string> {
  const env: Record<string, string> = {};
  for (const prefix of ['', 'NEXT_PUBLIC_', 'VITE_', 'EXPO_PUBLIC_']) {
    env[`${prefix}STACK_PROJECT_ID`] = c.projectId;
    env[`${prefix}STACK_PUBLISHABLE_CLIENT_KEY`] = c.publishableClientKey;
    env[`${prefix}STACK_API_URL`] = c.apiUrl;
  }
  if (c.secretServerKey) env.STACK_SECRET_SERVER_KEY = c.secretServerKey;
  return env;
}
