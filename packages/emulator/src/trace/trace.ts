import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ProtocolTrace } from '@stack/qmp-protocol';
import { z } from 'zod';

/** One line of a command's trace (`run/trace.log`, and stderr with `--verbose`). */
export interface TraceEvent {
  /** Seconds since the command started. */
  t: number;
  kind: string;
  [field: string]: unknown;
}

/** One line of run/trace.log, as read back (`logs --source trace`): the fields every event has. */
export const traceEventSchema = z.object({ t: z.number(), kind: z.string() }).loose();

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

export interface TraceOptions {
  /** Print each event on `stream` as it happens. @default false: recorded only */
  verbose?: boolean;
  /** Printed events are JSON lines (`{"trace": ...}`) instead of text. @default false */
  json?: boolean;
  /** Where printed events go. @default process.stderr */
  stream?: { write(text: string): unknown };
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
}

/**
 * The trace of one operation: lifecycle steps with their times, QEMU's command line, the probe's
 * verdicts, every QMP and guest-agent message (redacted). Kept in memory; the operations that change
 * the instance write it to `run/trace.log` when they end (`logs --source trace` shows the last one);
 * printed as it happens when `verbose` (one JSON object per line with `json`). One per operation: no
 * global, nothing hooked on the process.
 */
export class Trace {
  readonly #now: () => number;
  readonly #t0: number;
  readonly #verbose: boolean;
  readonly #json: boolean;
  readonly #stream: { write(text: string): unknown };
  readonly #events: TraceEvent[] = [];

  constructor(options: TraceOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#t0 = this.#now();
    this.#verbose = options.verbose ?? false;
    this.#json = options.json ?? false;
    this.#stream = options.stream ?? process.stderr;
  }

  get verbose(): boolean {
    return this.#verbose;
  }

  /** Printing JSON lines: then the stream carries nothing else (progress is in the trace already). */
  get jsonLines(): boolean {
    return this.#verbose && this.#json;
  }

  /** What was recorded so far. */
  get events(): readonly TraceEvent[] {
    return this.#events;
  }

  event(kind: string, fields: Record<string, unknown> = {}): void {
    const e: TraceEvent = { t: (this.#now() - this.#t0) / 1000, kind, ...(redact(fields) as Record<string, unknown>) };
    this.#events.push(e);
    if (this.#verbose) this.#stream.write(`${this.#json ? JSON.stringify({ trace: e }) : describe(e)}\n`);
  }

  /** A hook for one protocol connection (qmp-protocol and qga-protocol `trace` option). */
  protocol(kind: 'qmp' | 'qga', socket: string): ProtocolTrace {
    this.event(kind, { direction: 'connect', socket });
    return (direction, message) => this.event(kind, { direction, message });
  }

  /** Writes what was recorded to `file` (one JSON object per line, mode 0600); never throws. */
  writeTo(file: string): void {
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, this.#events.map((e) => JSON.stringify(e)).join('\n') + (this.#events.length ? '\n' : ''), {
        mode: 0o600,
      });
    } catch {
      // A trace that cannot be written must not change how the operation ends.
    }
  }
}
