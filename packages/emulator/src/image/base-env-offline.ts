import { type FetchErrorCode, isFetchError } from '@stack/release-fetcher';

/**
 * A Stack base environment carried in this package (`bundled-base-env.ts`, written by
 * `tools/stack-base-env --bundle`), and the Stack sources it was generated from.
 */
export interface BundledBaseEnv {
  /** The Stack repository, `owner/name`. */
  repo: string;
  /** The release tag whose development env files it was generated from. */
  ref: string;
  /** The commit `ref` named then (the rolling release's tag may be moved later). */
  commit: string;
  /** When it was generated (ISO 8601). */
  generatedAt: string;
  /** The file, one line an entry without its newline (so that a regeneration's diff reads line by line). */
  lines: readonly string[];
}

/** The base.env text of a bundled base environment. */
export const bundledBaseEnvText = (b: BundledBaseEnv) => `${b.lines.join('\n')}\n`;

/** Where it came from, in one line: the repository, the release and the commit. */
export const describeBundled = (b: BundledBaseEnv) => `${b.repo} at ${b.ref}, commit ${b.commit.slice(0, 12)}`;

/**
 * Failures that mean GitHub gave no answer about the files: the connection could not be made or kept
 * (no route, DNS, refused, reset, a stall, the proxy in between, a certificate the network put in the
 * way, a mangled response) or GitHub declined to answer now (rate limit, 5xx). Left out, because
 * GitHub did answer and the bundled environment of another release would hide what needs fixing: a
 * 404 (the tag or a file is gone), 401/403 (the token), FETCH_INSECURE (the API base configured),
 * FETCH_ABORTED (the user stopped), and everything that is not a fetch error (the generator refusing
 * files that lack a variable, a disk error while saving).
 */
const UNREACHABLE: ReadonlySet<FetchErrorCode> = new Set([
  'FETCH_NETWORK',
  'FETCH_STALLED',
  'FETCH_PROXY',
  'FETCH_CERTIFICATE',
  'FETCH_PROTOCOL',
  'FETCH_RATE_LIMITED',
]);

/** Why GitHub could not be reached, when that is why fetching the base environment failed; else undefined. */
export function unreachableReason(e: unknown): string | undefined {
  if (!isFetchError(e)) return undefined;
  if (UNREACHABLE.has(e.code) || (e.code === 'FETCH_HTTP' && (e.status ?? 0) >= 500)) return e.message;
  return undefined;
}

/** The warning of a start that falls back on the bundled base environment. */
export function bundledNotice(b: BundledBaseEnv, reason: string): string {
  return `using the base environment bundled with this package (${describeBundled(b)}): GitHub could not be reached (${reason}). It is not kept beside the image: the next start that reaches GitHub generates the image's own`;
}
