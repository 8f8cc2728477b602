import { FetchError } from './errors.js';

/** What GitHub calls need: base URL, token (only ever sent to that host) and an injectable fetch. */
export interface GitHubOptions {
  /** @default "https://api.github.com" */
  apiBase?: string;
  /** GITHUB_TOKEN, or `gh auth token`; anonymous when undefined. */
  token?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
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

const DEFAULT_API = 'https://api.github.com';

export function apiHeaders(options: GitHubOptions, accept = 'application/vnd.github+json'): Record<string, string> {
  return { accept, 'x-github-api-version': '2022-11-28', 'user-agent': 'stack-emulator', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };
}

/** Maps a failed GitHub answer to an error that says what to do. */
export async function gitHubError(res: Response, what: string, authed: boolean): Promise<FetchError> {
  const body = (await res.text().catch(() => '')).slice(0, 300);
  const remaining = res.headers.get('x-ratelimit-remaining');
  const reset = res.headers.get('x-ratelimit-reset');
  if ((res.status === 403 || res.status === 429) && (remaining === '0' || res.headers.has('retry-after'))) {
    const resetAt = reset ? new Date(Number(reset) * 1000) : new Date(Date.now() + Number(res.headers.get('retry-after') ?? 60) * 1000);
    return new FetchError('FETCH_RATE_LIMITED', `GitHub rate limit reached for ${what}; it resets at ${resetAt.toISOString()}${authed ? '' : ' (set GITHUB_TOKEN or run `gh auth login` for a higher limit)'}`, { status: res.status, resetAt });
  }
  if (res.status === 401) return new FetchError('FETCH_UNAUTHORIZED', `GitHub refused the token for ${what} (401): set a valid GITHUB_TOKEN or run \`gh auth login\``, { status: 401 });
  if (res.status === 403) return new FetchError('FETCH_FORBIDDEN', `GitHub denied ${what} (403)${authed ? ': the token lacks access' : ': set GITHUB_TOKEN or run `gh auth login`'}. ${body}`, { status: 403 });
  if (res.status === 404) return new FetchError('FETCH_NOT_FOUND', `${what} not found (404)`, { status: 404 });
  return new FetchError('FETCH_HTTP', `GitHub answered ${res.status} ${res.statusText} for ${what}: ${body}`, { status: res.status });
}

/** GET a JSON document from the GitHub API. */
export async function gitHubJson<T>(path: string, what: string, options: GitHubOptions): Promise<T> {
  const f = options.fetch ?? fetch;
  const url = `${options.apiBase ?? DEFAULT_API}${path}`;
  let res: Response;
  try {
    res = await f(url, { headers: apiHeaders(options), signal: options.signal });
  } catch (e) {
    if (options.signal?.aborted) throw new FetchError('FETCH_ABORTED', 'aborted', { cause: e });
    throw new FetchError('FETCH_NETWORK', `cannot reach ${url}: ${(e as Error).message}`, { cause: e });
  }
  if (!res.ok) throw await gitHubError(res, what, Boolean(options.token));
  return (await res.json()) as T;
}

/**
 * A release by tag. The rolling `emulator-<branch>-latest` release is a draft for a moment while CI
 * replaces its assets, and drafts are invisible to `releases/tags/<tag>` (404): the message says so.
 */
export async function getRelease(repo: string, tag: string, options: GitHubOptions): Promise<Release> {
  try {
    return await gitHubJson<Release>(`/repos/${repo}/releases/tags/${encodeURIComponent(tag)}`, `release ${tag} of ${repo}`, options);
  } catch (e) {
    if (e instanceof FetchError && e.code === 'FETCH_NOT_FOUND') {
      throw new FetchError('FETCH_NOT_FOUND', `release ${tag} of ${repo} not found (404). If it is a rolling release being republished it is a draft for a minute; retry shortly, or run \`stack-emulator list-releases\``, { status: 404, cause: e });
    }
    throw e;
  }
}

export async function listReleases(repo: string, options: GitHubOptions): Promise<Release[]> {
  return gitHubJson<Release[]>(`/repos/${repo}/releases?per_page=50`, `releases of ${repo}`, options);
}

interface Artifact {
  id: number;
  name: string;
  size_in_bytes: number;
  archive_download_url: string;
  expired: boolean;
}

/** The artifact named `name` of a workflow run (downloading artifacts requires a token). */
export async function findRunArtifact(repo: string, runId: string, name: string, options: GitHubOptions): Promise<Artifact> {
  if (!options.token) throw new FetchError('FETCH_AUTH_REQUIRED', 'downloading workflow run artifacts requires authentication: set GITHUB_TOKEN or run `gh auth login`');
  const list = await gitHubJson<{ artifacts: Artifact[] }>(`/repos/${repo}/actions/runs/${runId}/artifacts?per_page=100`, `artifacts of run ${runId}`, options);
  const a = list.artifacts.find((x) => x.name === name);
  if (!a) throw new FetchError('FETCH_NOT_FOUND', `artifact ${name} not found in workflow run ${runId} (it has: ${list.artifacts.map((x) => x.name).join(', ') || 'none'})`);
  if (a.expired) throw new FetchError('FETCH_NOT_FOUND', `artifact ${name} of run ${runId} has expired`);
  return a;
}

/** The latest successful image-build run of a pull request's head branch. */
export async function runForPullRequest(repo: string, pr: number, options: GitHubOptions & { workflow?: string }): Promise<string> {
  const pull = await gitHubJson<{ head: { ref: string } }>(`/repos/${repo}/pulls/${pr}`, `pull request #${pr}`, options);
  const workflow = options.workflow ?? 'qemu-emulator-build.yaml';
  const runs = await gitHubJson<{ workflow_runs: Array<{ id: number }> }>(
    `/repos/${repo}/actions/workflows/${workflow}/runs?branch=${encodeURIComponent(pull.head.ref)}&status=success&per_page=1`,
    `runs of ${workflow}`,
    options,
  );
  const run = runs.workflow_runs[0];
  if (!run) throw new FetchError('FETCH_NOT_FOUND', `no successful image build found for PR #${pr} (branch ${pull.head.ref})`);
  return String(run.id);
}
