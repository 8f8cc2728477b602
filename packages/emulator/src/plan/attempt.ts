/** Where a boot that does not continue a session runs: a new session's disk, or a throwaway one. */
export type Target = 'new-session' | 'ephemeral';

/** One way of getting a healthy VM, tried in the order {@link decideStart} gives. */
export type Attempt =
  /** The saved session: its disk and its RAM state. */
  | { kind: 'resume-session' }
  /** The session's disk booted (data kept); `reason` says why its RAM state is not used. */
  | { kind: 'cold-session'; reason: string }
  /** An earlier tool's disk moved into a new session, then booted (data kept). */
  | { kind: 'adopt'; from: string }
  /** A golden snapshot captured first (`reason`: why there is none to use). */
  | { kind: 'capture'; reason: string }
  /** The golden snapshot on a fresh disk, with fresh secrets. */
  | { kind: 'resume-golden'; target: Target }
  /** A cold boot of the image on a fresh disk; `reason` says why no snapshot. */
  | { kind: 'cold-fresh'; target: Target; reason: string };

export type AttemptKind = Attempt['kind'];

/** An attempt of this start that failed, and how (see failure.ts). */
export interface FailedAttempt {
  attempt: AttemptKind;
  /** The failure's message, quoted in the reason of what comes next. */
  message: string;
  /** The guest kernel panicked during it (a boot that may well succeed the next time). @default false */
  guestPanicked?: boolean;
}

/** The golden snapshot of this start's configuration, as the cache has it. */
export type GoldenFacts =
  { kind: 'hit' } | { kind: 'missing'; reason: string } | { kind: 'quarantined'; reason: string };

/** What a start decides on: gathered once per accelerator (facts.ts), then only `failed` grows. */
export interface StartFacts {
  /** `--ephemeral`: no session is read, made or kept. */
  ephemeral: boolean;
  /** Why no snapshot can be used at all (`--no-snapshot`, no format this QEMU can save); undefined when one can. */
  noSnapshots?: string;
  /** `--force-capture`. */
  forceCapture: boolean;
  /** The saved session (never with `ephemeral`); `ramProblem` says why its RAM state cannot be resumed. */
  session?: { ramProblem?: string };
  /** A disk an earlier tool left in the home (adopted when there is no session). */
  earlierDisk?: { from: string };
  golden: GoldenFacts;
  /** True once this start captured the golden snapshot (a forced capture is not repeated). */
  captured: boolean;
  /** What failed so far under the current accelerator, oldest first. */
  failed: readonly FailedAttempt[];
}
