/** One framing result: a complete line (without its LF or CRLF), a reset marker, or an overflow. */
export type LineItem =
  { type: 'line'; text: string } | { type: 'reset' } | { type: 'overflow'; bytes: number; head: string };

export interface LineDecoderOptions {
  /** Longest line accepted, in bytes; a longer one is dropped up to its LF and reported as `overflow`. */
  maxLineBytes: number;
  /**
   * A byte that discards any partial line and is reported as `reset`. QGA prefixes the reply of
   * `guest-sync-delimited` with 0xFF so a client can drop everything before it (qga/qapi-schema.json).
   */
  resetByte?: number;
}

/**
 * Sans-I/O framing of newline-delimited JSON. Accepts LF and CRLF (QMP ends lines with CRLF, QGA with
 * a bare LF). Chunks may split lines, and multi-byte UTF-8 characters, anywhere.
 */
export class LineDecoder {
  readonly #max: number;
  readonly #reset: number | undefined;
  #parts: Buffer[] = [];
  #size = 0;
  #discarding = false;
  #discarded = 0;

  constructor(options: LineDecoderOptions) {
    this.#max = options.maxLineBytes;
    this.#reset = options.resetByte;
  }

  /** Bytes held for an incomplete line. */
  get pending(): number {
    return this.#size;
  }

  push(chunk: Uint8Array): LineItem[] {
    const out: LineItem[] = [];
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    while (start < buf.length) {
      const lf = buf.indexOf(0x0a, start);
      const rs = this.#reset === undefined ? -1 : buf.indexOf(this.#reset, start);
      if (rs !== -1 && (lf === -1 || rs < lf)) {
        this.#clear();
        out.push({ type: 'reset' });
        start = rs + 1;
        continue;
      }
      const end = lf === -1 ? buf.length : lf;
      this.#append(buf.subarray(start, end));
      if (lf === -1) break;
      const item = this.#finish();
      if (item) out.push(item);
      start = lf + 1;
    }
    return out;
  }

  #append(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.#discarding) {
      this.#discarded += piece.length;
      return;
    }
    if (this.#size + piece.length > this.#max) {
      this.#discarding = true;
      this.#discarded = this.#size + piece.length;
      this.#parts = [Buffer.concat([...this.#parts, piece]).subarray(0, 64)];
      this.#size = 0;
      return;
    }
    this.#parts.push(piece);
    this.#size += piece.length;
  }

  #finish(): LineItem | undefined {
    if (this.#discarding) {
      const head = this.#parts[0]?.toString('utf8') ?? '';
      const bytes = this.#discarded;
      this.#clear();
      return { type: 'overflow', bytes, head };
    }
    let line = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#size);
    this.#clear();
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    if (line.length === 0) return undefined;
    return { type: 'line', text: line.toString('utf8') };
  }

  #clear(): void {
    this.#parts = [];
    this.#size = 0;
    this.#discarding = false;
    this.#discarded = 0;
  }
}
