import { apiBaseUrl } from './api-base.js';
import { FetchError } from './errors.js';
import { type HttpResponse, readText, requestFollowing } from './http-request.js';
import { type Network, type NetworkOptions, openNetwork } from './network.js';
import { withRetries } from './retry.js';

/** What GitHub calls need. */
export interface GitHubOptions extends NetworkOptions {
  /**
   * The API's base URL. Must be https; plain http only to 127.0.0.1, ::1 or localhost with no proxy
   * (else FETCH_INSECURE: the token would cross the network in clear). @default "https://api.github.com"
   */
  apiBase?: string;
  /** GITHUB_TOKEN, or `gh auth token`; anonymous when undefined. Sent only to the API's origin. */
  token?: string;
  signal?: AbortSignal;
}

/** An opened API session: one network for every call of a fetch. */
export interface GitHubApi {
  network: Network;
  apiBase: string;
  token: string | undefined;
  signal: AbortSignal | undefined;
}

export interface ReleaseAsset {
  name: string;
  /** API URL of the asset (download with Accept: application/octet-stream). */
  url: string;
  size: number;
  /** `sha256:<hex>` when GitHub computed it. */
  digest?: string | null;
}

export interface Release {
  tag_name: string;
  name: string | null;
  draft: boolean;
  prerelease: boolean;
  published_at: string | null;
  created_at: string;
  assets: ReleaseAsset[];
}

export interface Artifact {
  id: number;
  name: string;
  size_in_bytes: number;
  archive_download_url: string;
  expired: boolean;
}

/** The API over an opened network; throws when the API base is not safe to send the token to (see apiBaseUrl). */
export function gitHubApi(network: Network, options: GitHubOptions): GitHubApi {
  return {
    network,
    apiBase: apiBaseUrl(options.apiBase, network.proxy),
    token: options.token,
    signal: options.signal,
  };
}

/** Headers for every API hop, and the Authorization header that must stay on the API's origin. */
export function apiHeaders(
  api: GitHubApi,
  accept = 'application/vnd.github+json',
): { headers: Record<string, string>; privateHeaders: Record<string, string> } {
  return {
    headers: { accept, 'x-github-api-version': '2022-11-28', 'user-agent': 'stack-emulator' },
    privateHeaders: api.token ? { authorization: `Bearer ${api.token}` } : {},
  };
}

/** Maps a failed GitHub answer to an error that says what to do. */
async function gitHubError(res: HttpResponse, what: string, authed: boolean): Promise<FetchError> {
  const body = (await readText(res, 64 * 1024).catch(() => '')).slice(0, 300);
  const remaining = res.header('x-ratelimit-remaining');
  const reset = res.header('x-ratelimit-reset');
  const url = res.url;
  if ((res.status === 403 || res.status === 429) && (remaining === '0' || res.header('retry-after') !== undefined)) {
    const resetAt = reset
      ? new Date(Number(reset) * 1000)
      : new Date(Date.now() + Number(res.header('retry-after') ?? 60) * 1000);
    return new FetchError(
      'FETCH_RATE_LIMITED',
      `GitHub rate limit reached for ${what}; it resets at ${resetAt.toISOString()}${authed ? '' : ' (set GITHUB_TOKEN or run `gh auth login` for a higher limit)'}`,
      { status: res.status, resetAt, url },
    );
  }
  if (res.status === 401)
    return new FetchError(
      'FETCH_UNAUTHORIZED',
      `GitHub refused the token for ${what} (401): set a valid GITHUB_TOKEN or run \`gh auth login\``,
      { status: 401, url },
    );
  if (res.status === 403)
    return new FetchError(
      'FETCH_FORBIDDEN',
      `GitHub denied ${what} (403)${authed ? ': the token lacks access' : ': set GITHUB_TOKEN or run `gh auth login`'}. ${body}`,
      { status: 403, url },
    );
  if (res.status === 404) return new FetchError('FETCH_NOT_FOUND', `${what} not found (404)`, { status: 404, url });
  return new FetchError('FETCH_HTTP', `GitHub answered ${res.status} for ${what}: ${body}`, {
    status: res.status,
    url,
    retryable: res.status >= 500,
  });
}

/** GET a JSON document from the API (a renamed repository's 301 is followed, token kept on the origin). */
export async function gitHubJson<T>(api: GitHubApi, path: string, what: string): Promise<T> {
  return withRetries(
    async () => {
      const res = await requestFollowing(`${api.apiBase}${path}`, {
        network: api.network,
        ...apiHeaders(api),
        signal: api.signal,
      });
      if (res.status !== 200) throw await gitHubError(res, what, Boolean(api.token));
      const text = await readText(res, 32 << 20);
      try {
        return JSON.parse(text) as T;
      } catch (e) {
        throw new FetchError('FETCH_PROTOCOL', `GitHub sent something other than JSON for ${what}`, {
          cause: e,
          url: res.url,
        });
      }
    },
    { retries: 2, signal: api.signal },
  );
}

/**
 * A release by tag. The rolling `emulator-<branch>-latest` release is a draft for a moment while CI
 * replaces its assets, and drafts are invisible to `releases/tags/<tag>` (404): the message says so.
 */
export async function findRelease(api: GitHubApi, repo: string, tag: string): Promise<Release> {
  try {
    return await gitHubJson<Release>(
      api,
      `/repos/${repo}/releases/tags/${encodeURIComponent(tag)}`,
      `release ${tag} of ${repo}`,
    );
  } catch (e) {
    if (e instanceof FetchError && e.code === 'FETCH_NOT_FOUND') {
      throw new FetchError(
        'FETCH_NOT_FOUND',
        `release ${tag} of ${repo} not found (404). If it is a rolling release being republished it is a draft for a minute; retry shortly, or run \`stack-emulator list-releases\``,
        { status: 404, cause: e, url: e.url },
      );
    }
    throw e;
  }
}

/** The artifact named `name` of a workflow run (downloading artifacts requires a token). */
export async function findRunArtifact(api: GitHubApi, repo: string, runId: string, name: string): Promise<Artifact> {
  if (!api.token)
    throw new FetchError(
      'FETCH_AUTH_REQUIRED',
      'downloading workflow run artifacts requires authentication: set GITHUB_TOKEN or run `gh auth login`',
    );
  const list = await gitHubJson<{ artifacts: Artifact[] }>(
    api,
    `/repos/${repo}/actions/runs/${runId}/artifacts?per_page=100`,
    `artifacts of run ${runId}`,
  );
  const a = list.artifacts.find((x) => x.name === name);
  if (!a)
    throw new FetchError(
      'FETCH_NOT_FOUND',
      `artifact ${name} not found in workflow run ${runId} (it has: ${list.artifacts.map((x) => x.name).join(', ') || 'none'})`,
    );
  if (a.expired) throw new FetchError('FETCH_NOT_FOUND', `artifact ${name} of run ${runId} has expired`);
  return a;
}

/**
 * A file of the repository at `ref` (a tag, branch or commit), as text, through the contents API
 * (raw media type). FETCH_NOT_FOUND when the file or the ref does not exist.
 */
async function findRepoFile(api: GitHubApi, repo: string, path: string, ref: string): Promise<string> {
  return withRetries(
    async () => {
      const { headers, privateHeaders } = apiHeaders(api, 'application/vnd.github.raw');
      const res = await requestFollowing(
        `${api.apiBase}/repos/${repo}/contents/${path.split('/').map(encodeURIComponent).join('/')}?ref=${encodeURIComponent(ref)}`,
        { network: api.network, headers, privateHeaders, signal: api.signal },
      );
      if (res.status !== 200) throw await gitHubError(res, `${path} at ${ref} of ${repo}`, Boolean(api.token));
      return readText(res, 4 << 20);
    },
    { retries: 2, signal: api.signal },
  );
}

async function withApi<T>(options: GitHubOptions, fn: (api: GitHubApi) => Promise<T>): Promise<T> {
  const network = await openNetwork(options);
  try {
    return await fn(gitHubApi(network, options));
  } finally {
    await network.close();
  }
}

/** A release by tag (see {@link findRelease}). */
export function getRelease(repo: string, tag: string, options: GitHubOptions = {}): Promise<Release> {
  return withApi(options, (api) => findRelease(api, repo, tag));
}

/** A file of the repository at `ref` (see {@link findRepoFile}). */
export function getRepoFile(repo: string, path: string, ref: string, options: GitHubOptions = {}): Promise<string> {
  return withApi(options, (api) => findRepoFile(api, repo, path, ref));
}

/** The repository's latest 50 releases. */
export function listReleases(repo: string, options: GitHubOptions = {}): Promise<Release[]> {
  return withApi(options, (api) =>
    gitHubJson<Release[]>(api, `/repos/${repo}/releases?per_page=50`, `releases of ${repo}`),
  );
}
