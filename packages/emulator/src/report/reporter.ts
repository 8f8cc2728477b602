import type { Progress } from '@stack/release-fetcher';

/** Progress of one step of a long operation. */
export interface ReporterStep {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
}

/**
 * Where the runtime reports progress; it never prints by itself. The CLI passes a spinner or a line
 * printer; a test harness passes its logger, or nothing ({@link silentReporter}).
 */
export interface Reporter {
  step(text: string): ReporterStep;
  info(text: string): void;
  warn(text: string): void;
  /** Byte progress of a download or copy. @default ignored */
  progress?(p: Progress): void;
}

/** Reports nothing: the default for library use and benchmarks. */
export const silentReporter: Reporter = {
  step: () => ({ update() {}, succeed() {}, fail() {} }),
  info() {},
  warn() {},
};
