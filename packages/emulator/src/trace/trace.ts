import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ProtocolTrace } from '@stack/qmp-protocol';

/** One line of a command's trace (`run/trace.log`, and stderr with `--verbose`). */
export interface TraceEvent {
  /** Seconds since the command started. */
  t: number;
  kind: string;
  [field: string]: unknown;
}

const HEX64 = /\b[0-9a-fA-F]{64}\b/g;
const SECRET_NAME = /KEY|SECRET|PASSWORD|TOKEN/i;

/**
 * A copy of `value` fit to print: every 64-hex string (every secret and key here has that form) is
 * masked; a guest-exec's stdin (`input-data`: the rotation's secrets) is replaced by its size; its
 * output (`out-data`, `err-data`) is decoded and masked; `KEY=VALUE` environment entries whose name
 * says secret lose their value.
 */
export function redact(value: unknown, key?: string): unknown {
  if (typeof value === 'string') {
    if (key === 'input-data') return `<${Buffer.from(value, 'base64').length} bytes, redacted>`;
    if (key === 'out-data' || key === 'err-data') {
      const text = Buffer.from(value, 'base64').toString('utf8').replace(HEX64, '<redacted>');
      return text.length > 2000 ? `${text.slice(0, 2000)}… (${text.length} characters)` : text;
    }
    const m = /^([A-Z0-9_]+)=(.*)$/s.exec(value);
    if (m && SECRET_NAME.test(m[1]!)) return `${m[1]}=<redacted>`;
    return value.replace(HEX64, '<redacted>');
  }
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  return value;
}

const describe = (e: TraceEvent) => {
  const { t, kind, ...rest } = e;
  const body =
    kind === 'qmp' || kind === 'qga'
      ? `${rest.direction === 'send' ? '→' : '←'} ${JSON.stringify(rest.message)}`
      : kind === 'step'
        ? `${String(rest.step)}`
        : JSON.stringify(rest);
  return `[trace ${t.toFixed(3).padStart(8)}s] ${kind} ${body}`;
};

/** How a trace line reads: `[trace    1.234s] qmp → {...}`. */
export const formatTraceEvent = describe;

/**
 * The trace of this command: lifecycle steps with their times, QEMU's command line, the probe's
 * verdicts, every QMP and guest-agent message (redacted). Kept in memory and written to
 * `run/trace.log` at exit by the commands that change the instance (`logs --source trace` shows the
 * last one); printed on stderr as it happens with `--verbose` (one JSON object per line with `--json`).
 */
class Trace {
  #t0 = Date.now();
  #verbose = false;
  #json = false;
  #file: string | undefined;
  readonly #events: TraceEvent[] = [];
  #hooked = false;

  /** @default quiet: recorded, not printed */
  configure(options: { verbose?: boolean; json?: boolean }): void {
    this.#verbose = options.verbose ?? false;
    this.#json = options.json ?? false;
  }

  get verbose(): boolean {
    return this.#verbose;
  }

  /** Printing JSON lines: then stderr carries nothing else (progress is in the trace already). */
  get jsonLines(): boolean {
    return this.#verbose && this.#json;
  }

  /** Writes the trace to `file` when the process exits. */
  persistTo(file: string): void {
    this.#file = file;
    if (this.#hooked) return;
    this.#hooked = true;
    process.once('exit', () => this.flush());
  }

  event(kind: string, fields: Record<string, unknown> = {}): void {
    const e: TraceEvent = { t: (Date.now() - this.#t0) / 1000, kind, ...(redact(fields) as Record<string, unknown>) };
    this.#events.push(e);
    if (this.#verbose) process.stderr.write(`${this.#json ? JSON.stringify({ trace: e }) : describe(e)}\n`);
  }

  /** A hook for one protocol connection (qmp-protocol and qga-protocol `trace` option). */
  protocol(kind: 'qmp' | 'qga', socket: string): ProtocolTrace {
    this.event(kind, { direction: 'connect', socket });
    return (direction, message) => this.event(kind, { direction, message });
  }

  /** Writes what was recorded (one JSON object per line); never throws. */
  flush(): void {
    if (!this.#file) return;
    try {
      mkdirSync(dirname(this.#file), { recursive: true, mode: 0o700 });
      writeFileSync(
        this.#file,
        this.#events.map((e) => JSON.stringify(e)).join('\n') + (this.#events.length ? '\n' : ''),
        { mode: 0o600 },
      );
    } catch {
      // A trace that cannot be written must not change how the command ends.
    }
  }
}

/** The process's trace: one command runs per process. */
export const trace = new Trace();
