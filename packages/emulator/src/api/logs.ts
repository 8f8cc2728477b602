import { cleanConsole, followFile, formatTraceLines, type LogSource, readLog as readLogOf } from '../instance/logs.js';
import { checkOptions, type CommonOptions, openOp } from './options.js';

export type { LogSource };

export interface LogOptions extends CommonOptions {
  /** The guest's serial console, QEMU's own output, or the last lifecycle command's trace. */
  source: LogSource;
  /** Lines from the end. */
  lines: number;
  /** As written (terminal escapes, trace JSON lines). @default false: readable text */
  raw?: boolean;
}

const readable = (source: LogSource, raw: boolean | undefined) => (text: string) =>
  raw ? text : source === 'console' ? cleanConsole(text) : source === 'trace' ? formatTraceLines(text) : text;

/** The last `lines` lines of a log, and where it ends (for {@link followLog}). */
export async function readLog(options: LogOptions): Promise<{ path: string; text: string; size: number }> {
  const { config } = openOp(checkOptions(options));
  const log = await readLogOf(config, options.source, options.lines);
  return { ...log, text: log.text ? readable(options.source, options.raw)(log.text) : '' };
}

export interface FollowLogOptions extends Omit<LogOptions, 'lines'> {
  /** The log file, as {@link readLog} returned it. */
  path: string;
  /** Where to begin: the `size` {@link readLog} returned. */
  offset: number;
  /** Ends the following. */
  signal: AbortSignal;
  /** Each new piece of text. */
  onData: (text: string) => void;
}

/**
 * Follows a log like `tail -f` from `offset` (the `size` {@link readLog} returned) until `signal`
 * aborts; a new start truncating it starts it again from its beginning. Trace lines are whole JSON
 * objects: they are formatted (and delivered) a line at a time.
 */
export async function followLog(options: FollowLogOptions): Promise<void> {
  const show = readable(options.source, options.raw);
  let partial = '';
  await followFile(
    options.path,
    options.offset,
    (chunk) => {
      if (options.source !== 'trace' || options.raw) return options.onData(show(chunk));
      const text = partial + chunk;
      const cut = text.lastIndexOf('\n');
      partial = text.slice(cut + 1);
      if (cut >= 0) options.onData(`${show(text.slice(0, cut))}\n`);
    },
    { signal: options.signal },
  );
}
