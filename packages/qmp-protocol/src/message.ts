import { LineDecoder } from '@stack/internal';

/** A QMP event as sent by the server (qmp-spec "Asynchronous events"). */
export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  /** Server time; both members are -1 when the host clock failed. */
  timestamp: { seconds: number; microseconds: number };
}

/** The greeting QEMU sends as soon as a client connects. */
export interface QmpGreeting {
  version: { qemu: { major: number; minor: number; micro: number }; package: string };
  capabilities: string[];
}

/** Everything the server can send, classified. `id` is the echoed command id, if any. */
export type QmpMessage =
  | { type: 'greeting'; greeting: QmpGreeting }
  | { type: 'return'; id: unknown; value: unknown }
  | { type: 'error'; id: unknown; errorClass: string; desc: string }
  | { type: 'event'; event: QmpEvent }
  | { type: 'invalid'; reason: string; raw: string };

export interface MessageDecoderOptions {
  /** Longest accepted line in bytes. @default 10 MiB (libvirt's and qemu.qmp's cap) */
  maxLineBytes?: number;
  /** See {@link LineDecoder}; set to 0xFF for the guest agent. */
  resetByte?: number;
}

/** Sans-I/O: bytes in, classified messages out. Never throws; bad input becomes an `invalid` message. */
export class MessageDecoder {
  readonly #lines: LineDecoder;
  constructor(options: MessageDecoderOptions = {}) {
    this.#lines = new LineDecoder({
      maxLineBytes: options.maxLineBytes ?? 10 * 1024 * 1024,
      resetByte: options.resetByte,
    });
  }

  /** Returns messages, plus `{ type: 'reset' }` markers when a reset byte is configured. */
  push(chunk: Uint8Array): Array<QmpMessage | { type: 'reset' }> {
    const out: Array<QmpMessage | { type: 'reset' }> = [];
    for (const item of this.#lines.push(chunk)) {
      if (item.type === 'reset') out.push(item);
      else if (item.type === 'overflow')
        out.push({ type: 'invalid', reason: `line of ${item.bytes} bytes exceeds the limit`, raw: item.head });
      else out.push(classify(item.text));
    }
    return out;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Classifies one JSON line. Unknown extra keys are ignored (qmp-spec "Compatibility Considerations"). */
export function classify(text: string): QmpMessage {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { type: 'invalid', reason: 'not valid JSON', raw: text };
  }
  if (!isObject(msg)) return { type: 'invalid', reason: 'not a JSON object', raw: text };
  if ('return' in msg) return { type: 'return', id: msg.id, value: msg.return };
  if ('error' in msg) {
    const e = msg.error;
    if (!isObject(e) || typeof e.class !== 'string') return { type: 'invalid', reason: 'malformed error', raw: text };
    return { type: 'error', id: msg.id, errorClass: e.class, desc: typeof e.desc === 'string' ? e.desc : '' };
  }
  if (typeof msg.event === 'string') {
    const ts = isObject(msg.timestamp) ? msg.timestamp : {};
    return {
      type: 'event',
      event: {
        event: msg.event,
        data: isObject(msg.data) ? msg.data : {},
        timestamp: { seconds: Number(ts.seconds ?? -1), microseconds: Number(ts.microseconds ?? -1) },
      },
    };
  }
  if (isObject(msg.QMP)) {
    const g = msg.QMP;
    const v = isObject(g.version) && isObject(g.version.qemu) ? g.version : undefined;
    if (!v) return { type: 'invalid', reason: 'greeting without version', raw: text };
    return {
      type: 'greeting',
      greeting: {
        version: v as unknown as QmpGreeting['version'],
        capabilities: Array.isArray(g.capabilities) ? (g.capabilities as string[]) : [],
      },
    };
  }
  return { type: 'invalid', reason: 'neither reply, error, event nor greeting', raw: text };
}

/**
 * Encodes a command as one JSON line. `bigint` values are written as JSON integers, because some
 * arguments exceed 2^53 (guest-set-time takes nanoseconds since the epoch, ~1.8e18).
 */
export function encodeCommand(execute: string, args: Record<string, unknown> | undefined, id: unknown): Buffer {
  const msg: Record<string, unknown> = { execute };
  if (args !== undefined) msg.arguments = args;
  if (id !== undefined) msg.id = id;
  const marks: string[] = [];
  let json = JSON.stringify(msg, (_k, v) => {
    if (typeof v !== 'bigint') return v;
    marks.push(v.toString());
    return `\u0000bigint${marks.length - 1}\u0000`;
  });
  if (marks.length > 0) json = json.replace(/"\\u0000bigint(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)]!);
  return Buffer.from(`${json}\n`, 'utf8');
}
