import { readFileSync } from 'node:fs';
import { runProcessSync } from './run-process.js';

/** What can be known of a process: whether it runs, when it started, its command line. */
export interface ProcessIdentity {
  /** Exists and is not a zombie (a child nobody reaped has exited). */
  alive: boolean;
  /** A stable token of its start: Linux /proc/<pid>/stat field 22 (clock ticks), macOS `ps -o lstart`. */
  startTime: string | undefined;
  /** Its command line, arguments joined by spaces, when readable. */
  command: string | undefined;
}

export interface IdentityOptions {
  /** @default process.platform */
  platform?: NodeJS.Platform;
  /** Reads a /proc file (Linux); undefined when unreadable. @default fs.readFileSync */
  readProc?: (path: string) => string | undefined;
  /** Runs ps(1) and returns its stdout; undefined on failure. @default runProcessSync */
  ps?: (args: string[]) => string | undefined;
}

/** Reads a /proc file; undefined when unreadable (the default `readProc`). */
export const readProcDefault = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** Runs ps(1); undefined on failure (the default `ps`). */
export const psDefault = (args: string[]) => {
  try {
    return runProcessSync('ps', args, { timeout: 3000 }).stdout;
  } catch {
    return undefined;
  }
};

/**
 * Who `pid` is, read where the platform keeps it: /proc on Linux, ps(1) elsewhere (macOS has no
 * /proc; there every live pid used to count as our QEMU, and `stop` signalled an unrelated process).
 * Undefined when no such process exists.
 */
export function processIdentity(pid: number, options: IdentityOptions = {}): ProcessIdentity | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const platform = options.platform ?? process.platform;
  if (platform === 'linux') {
    const stat = (options.readProc ?? readProcDefault)(`/proc/${pid}/stat`);
    if (stat !== undefined) {
      // The command name in parentheses may itself hold spaces and ")": fields start after the last one.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmdline = (options.readProc ?? readProcDefault)(`/proc/${pid}/cmdline`);
      return {
        alive: fields[0] !== 'Z',
        startTime: fields[19],
        command: cmdline?.split('\0').filter(Boolean).join(' '),
      };
    }
    // No /proc (a container without it): ps below.
  }
  // `ps -o` with `=` suppresses the header; lstart is fixed-width (24 characters), then state, then the command.
  const out = (options.ps ?? psDefault)(['-o', 'lstart=', '-o', 'stat=', '-o', 'command=', '-p', String(pid)]);
  const line = out?.split('\n').find((l) => l.trim() !== '');
  if (!line) return undefined;
  const m = /^\s*(\w{3}\s+\w{3}\s+\d+\s+[\d:]+\s+\d{4})\s+(\S+)\s+(.*)$/.exec(line);
  if (!m) return { alive: true, startTime: undefined, command: undefined };
  return { alive: !m[2]!.startsWith('Z'), startTime: m[1]!.replace(/\s+/g, ' '), command: m[3]!.trim() };
}

/** The start token of `pid` now, to record beside it (see {@link isSameProcess}). */
export function processStartTime(pid: number, options: IdentityOptions = {}): string | undefined {
  return processIdentity(pid, options)?.startTime;
}

/**
 * True when `pid` runs and is the process recorded as started at `startTime`: a reused pid (a
 * different start) is another process. Without a recorded start time, only liveness is known.
 */
export function isSameProcess(pid: number, startTime: string | undefined, options: IdentityOptions = {}): boolean {
  const id = processIdentity(pid, options);
  if (!id?.alive) return false;
  return !(startTime && id.startTime && id.startTime !== startTime);
}

/**
 * True only when `pid` is proven to be the process recorded: alive, the same start time (required,
 * not assumed), and a command line containing every one of `marks` (e.g. "qemu-system" and the
 * home's path). The check before any signal: a pid that cannot be proven ours is never signalled.
 */
export function isProvenProcess(
  pid: number,
  startTime: string | undefined,
  marks: string[],
  options: IdentityOptions = {},
): boolean {
  const id = processIdentity(pid, options);
  if (!id?.alive || !startTime || id.startTime !== startTime || id.command === undefined) return false;
  return marks.every((m) => id.command!.includes(m));
}
