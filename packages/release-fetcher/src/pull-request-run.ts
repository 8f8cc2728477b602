import { z } from 'zod';
import { FetchError } from './errors.js';
import { type GitHubApi, gitHubJson } from './github.js';

const pullSchema = z.object({
  head: z.object({ ref: z.string(), sha: z.string().regex(/^[0-9a-f]{40}$/) }),
});

const runsSchema = z.object({
  workflow_runs: z.array(z.object({ id: z.number().int(), head_sha: z.string(), conclusion: z.string().nullish() })),
});

function parsed<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new FetchError(
      'FETCH_PROTOCOL',
      `GitHub's answer for ${what} is not what the API documents: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

/**
 * The latest successful image-build run of a pull request's head commit. Runs are matched by the
 * commit (`head_sha`), not the branch name: the branch filter also lists runs of every fork's
 * branch of that name (a `patch-1` anyone can push), so the newest of them could be anyone's image.
 * `pull_requests[]` cannot be used instead: GitHub leaves it empty for runs from forks.
 */
export async function runForPullRequest(
  api: GitHubApi,
  repo: string,
  pr: number,
  workflow = 'qemu-emulator-build.yaml',
): Promise<string> {
  const pull = parsed(
    pullSchema,
    await gitHubJson<unknown>(api, `/repos/${repo}/pulls/${pr}`, `pull request #${pr}`),
    `pull request #${pr}`,
  );
  const sha = pull.head.sha;
  const runs = parsed(
    runsSchema,
    await gitHubJson<unknown>(
      api,
      `/repos/${repo}/actions/workflows/${workflow}/runs?head_sha=${sha}&status=success&per_page=20`,
      `runs of ${workflow}`,
    ),
    `runs of ${workflow}`,
  );
  // The query filters already; checked again so that a server ignoring a filter cannot widen it.
  const run = runs.workflow_runs.find((r) => r.head_sha === sha && (r.conclusion ?? 'success') === 'success');
  if (!run)
    throw new FetchError(
      'FETCH_NOT_FOUND',
      `no image for PR #${pr} of ${repo}: a ${workflow} build of its head commit ${sha} (branch ${pull.head.ref}) has not succeeded (yet); wait for that build, or pull a given run with --run <id>`,
    );
  return String(run.id);
}
