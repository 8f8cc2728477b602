import { open, stat } from 'node:fs/promises';
import type { EmulatorConfig } from '../config/resolve-config.js';
import { EmulatorError } from '../errors.js';
import { formatTraceEvent, traceEventSchema } from '../trace/trace.js';

export type LogSource = 'console' | 'qemu' | 'trace';

/** Where each log lives: the guest's serial console, QEMU's own output, the last command's trace. */
function logPath(config: EmulatorConfig, source: LogSource): string {
  return source === 'console' ? config.paths.serialLog : source === 'qemu' ? config.paths.qemuLog : config.paths.trace;
}

/** Terminal escapes and carriage returns of a guest console, which make a log unreadable in a file or pipe. */
export function cleanConsole(text: string): string {
  return text
    .replace(/\x1b\[[0-9;?=!>]*[A-Za-z]/g, '')
    .replace(/\x1b[()][A-Za-z0-9]/g, '')
    .replace(/\r/g, '');
}

/**
 * A trace file's JSON lines as readable lines. A line that is not JSON, or not an event (no time or
 * kind: another tool's, or torn), is kept as it is: the log shows everything the file holds.
 */
export function formatTraceLines(text: string): string {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      let raw: unknown;
      try {
        raw = JSON.parse(l);
      } catch {
        return l;
      }
      const event = traceEventSchema.safeParse(raw);
      return event.success ? formatTraceEvent(event.data) : l;
    })
    .join('\n');
}

/** The last `lines` lines of a log, as text. */
export async function readLog(
  config: EmulatorConfig,
  source: LogSource,
  lines: number,
): Promise<{ path: string; text: string; size: number }> {
  const path = logPath(config, source);
  const st = await stat(path).catch(() => undefined);
  if (!st)
    throw new EmulatorError('NOT_RUNNING', `no ${source} log yet (${path})`, {
      hint: 'it appears with the first `stack-emulator start`',
    });
  // The tail only: a console log of a long-running guest can be large.
  const from = Math.max(0, st.size - Math.max(64 * 1024, lines * 400));
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(st.size - from);
    await fh.read(buf, 0, buf.length, from);
    const all = buf.toString('utf8').split('\n');
    if (from > 0) all.shift(); // a partial first line
    if (all.at(-1) === '') all.pop();
    return { path, text: all.slice(-lines).join('\n'), size: st.size };
  } finally {
    await fh.close();
  }
}

/**
 * Follows a file from `offset` like `tail -f`: new bytes as they are written; when the file becomes
 * shorter (a new start truncates the console log) it starts again from its beginning. Polls (fs.watch
 * misses writes on some file systems); ends when `signal` aborts.
 */
export async function followFile(
  path: string,
  offset: number,
  onData: (chunk: string) => void,
  options: { signal: AbortSignal; intervalMs?: number },
): Promise<void> {
  let pos = offset;
  const interval = options.intervalMs ?? 250;
  while (!options.signal.aborted) {
    const st = await stat(path).catch(() => undefined);
    if (st && st.size < pos) pos = 0;
    if (st && st.size > pos) {
      const fh = await open(path, 'r');
      try {
        const buf = Buffer.alloc(st.size - pos);
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        pos += bytesRead;
        onData(buf.subarray(0, bytesRead).toString('utf8'));
      } finally {
        await fh.close();
      }
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, interval);
      options.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  }
}
