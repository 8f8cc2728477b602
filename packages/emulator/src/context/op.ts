import type { EmulatorConfig } from '../config/resolve-config.js';
import type { Reporter } from '../report/reporter.js';
import type { Seams } from '../seams/seams.js';
import type { Trace } from '../trace/trace.js';

/**
 * What one operation works with, built once at the API boundary and passed down: its frozen
 * configuration, where it reports, its trace, its signal, and the seams to the world outside.
 */
export interface Op {
  readonly config: EmulatorConfig;
  readonly reporter: Reporter;
  readonly trace: Trace;
  readonly signal: AbortSignal | undefined;
  readonly seams: Seams;
}
