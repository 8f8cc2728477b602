import { FetchError } from './errors.js';

/** Status line and headers of an HTTP/1.1 response; header names are lower-case. */
export interface ResponseHead {
  status: number;
  statusText: string;
  headers: Map<string, string>;
}

const MAX_HEAD = 64 * 1024;
const CRLF2 = Buffer.from('\r\n\r\n');

type State =
  | { kind: 'head' }
  | { kind: 'length'; left: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; left: number }
  | { kind: 'chunk-end' }
  | { kind: 'trailers' }
  | { kind: 'close' }
  | { kind: 'done' };

const broken = (why: string) => new FetchError('FETCH_PROTOCOL', `the server broke HTTP/1.1: ${why}`);

/**
 * Sans-I/O parser of one HTTP/1.1 response to a GET (RFC 9112): the head, then the body framed by
 * Transfer-Encoding: chunked, Content-Length, or the end of the connection (section 6.3). Body bytes
 * are handed out as views of the input, never copied.
 */
export class ResponseParser {
  head: ResponseHead | undefined;
  #state: State = { kind: 'head' };
  /** Bytes of an unfinished line (head, chunk size, trailers) carried to the next feed. */
  #carry: Buffer = Buffer.alloc(0);

  get done(): boolean {
    return this.#state.kind === 'done';
  }

  /**
   * Consumes `input`, calling `onHead` once the head is complete and `onBody` with each body slice.
   * Returns the number of bytes used: less than `input.length` only when `onHead` returned false
   * (the caller pauses after the head and feeds the rest later) or the response is complete.
   */
  feed(input: Uint8Array, onBody: (chunk: Uint8Array) => void, onHead?: (head: ResponseHead) => boolean | void): number {
    const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    let used = 0;
    while (used < buf.length) {
      const s = this.#state;
      if (s.kind === 'done') return used;
      if (s.kind === 'length' || s.kind === 'chunk-data') {
        const n = Math.min(s.left, buf.length - used);
        onBody(buf.subarray(used, used + n));
        used += n;
        s.left -= n;
        if (s.left === 0) this.#state = s.kind === 'length' ? { kind: 'done' } : { kind: 'chunk-end' };
        continue;
      }
      if (s.kind === 'close') {
        onBody(buf.subarray(used));
        return buf.length;
      }
      // Line-oriented states: gather up to the terminator.
      const terminator = s.kind === 'head' ? CRLF2 : Buffer.from('\r\n');
      const joined = this.#carry.length ? Buffer.concat([this.#carry, buf.subarray(used)]) : buf.subarray(used);
      const at = joined.indexOf(terminator);
      if (at < 0) {
        if (joined.length > MAX_HEAD) throw broken(`a header or chunk line is longer than ${MAX_HEAD} bytes`);
        this.#carry = Buffer.from(joined);
        return buf.length;
      }
      const line = joined.subarray(0, at).toString('latin1');
      // Bytes of `buf` consumed: everything up to the terminator, minus what came from the carry.
      used += at + terminator.length - this.#carry.length;
      this.#carry = Buffer.alloc(0);
      if (s.kind === 'head') {
        const head = parseHead(line);
        if (head.status >= 100 && head.status < 200) continue; // interim response (RFC 9110 15.2)
        this.head = head;
        this.#state = bodyState(head);
        if (onHead?.(head) === false) return used;
      } else if (s.kind === 'chunk-size') {
        const size = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(line);
        if (!size) throw broken(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
        const n = Number.parseInt(size[1]!, 16);
        this.#state = n === 0 ? { kind: 'trailers' } : { kind: 'chunk-data', left: n };
      } else if (s.kind === 'chunk-end') {
        if (line !== '') throw broken('chunk data longer than its size');
        this.#state = { kind: 'chunk-size' };
      } else if (s.kind === 'trailers') {
        if (line === '') this.#state = { kind: 'done' };
      }
    }
    return used;
  }

  /** The connection ended: fine for a body delimited by the close, an error anywhere else. */
  end(): void {
    if (this.#state.kind === 'close') this.#state = { kind: 'done' };
    if (this.#state.kind === 'done') return;
    if (this.#state.kind === 'head') throw new FetchError('FETCH_NETWORK', 'the connection closed before the response head');
    const left = this.#state.kind === 'length' ? ` (${this.#state.left} bytes missing)` : '';
    throw new FetchError('FETCH_NETWORK', `the connection closed in the middle of the body${left}`);
  }
}

function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]!);
  if (!m) throw broken(`bad status line ${JSON.stringify(lines[0]!.slice(0, 60))}`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw broken(`bad header line ${JSON.stringify(line.slice(0, 60))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { status: Number(m[1]), statusText: m[2] ?? '', headers };
}

/** RFC 9112 6.3: how the body of a response to a GET is delimited. */
function bodyState(head: ResponseHead): State {
  if (head.status === 204 || head.status === 304) return { kind: 'done' };
  const te = head.headers.get('transfer-encoding');
  if (te !== undefined) {
    if (!/(^|,)\s*chunked\s*$/i.test(te)) return { kind: 'close' };
    return { kind: 'chunk-size' };
  }
  const cl = head.headers.get('content-length');
  if (cl !== undefined) {
    if (!/^\d+$/.test(cl)) throw broken(`bad Content-Length ${JSON.stringify(cl)}`);
    const n = Number(cl);
    return n === 0 ? { kind: 'done' } : { kind: 'length', left: n };
  }
  return { kind: 'close' };
}
