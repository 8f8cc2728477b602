import type { Transform } from 'node:stream';
import type { FileSink } from './file-sink.js';
import type { HttpResponse } from './http-request.js';

/**
 * Reads a response body into a FileSink, pausing the body while the sink's writes catch up.
 *
 * undici 7 (the last line for Node 20) crashes the process with an uncatchable
 * `AssertionError: assert(!this.paused)` when a response that ends the connection (`Connection:
 * close`, HTTP/1.0) has its parser paused under backpressure with nothing left in the socket, and the
 * server's FIN arrives (nodejs/undici#5360, fixed only in undici 8, which needs Node 22). Two rules
 * keep the parser from ever pausing there:
 * - the body flows from the moment the response arrives (`start`), before the sink is open: chunks
 *   that come meanwhile wait in a queue instead of filling the stream's buffer, which pauses it;
 * - the body is paused for backpressure only while more than `PAUSE_MARGIN` of a known length is
 *   still to come, or when it is chunked (its terminator always follows), and never when only the
 *   close ends it (HTTP/1.0 without Content-Length). Pausing the stream does not stop the parser at
 *   once: it goes on pushing until the stream's buffer (64 KiB) is full, and pauses there; with the
 *   margin, that is before the last byte, so bytes wait in the socket and it cannot end meanwhile.
 *   In the last MiB the sink queues what arrives instead.
 */
/** Bytes of a known-length body that must still be coming for a pause to be safe (see above). */
const PAUSE_MARGIN = 1 << 20;

export class BodyFeed {
  readonly #res: HttpResponse;
  readonly #decoder: Transform | undefined;
  readonly #rawTotal: number | undefined;
  readonly #chunked: boolean;
  #raw = 0;
  #queue: Buffer[] = [];
  #sink: FileSink | undefined;
  #onBytes: (bytes: number) => void = () => {};
  #settle: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  #failure: unknown;
  #ended = false;

  private constructor(res: HttpResponse, decoder: Transform | undefined) {
    this.#res = res;
    this.#decoder = decoder;
    const te = res.header('transfer-encoding');
    const len = te ? undefined : res.header('content-length');
    this.#rawTotal = len && /^\d+$/.test(len) ? Number(len) : undefined;
    this.#chunked = /chunked/i.test(te ?? '');
  }

  /** Starts reading `res` now (decoded through `decoder` when given); bytes queue until `into()`. */
  static start(res: HttpResponse, decoder?: Transform): BodyFeed {
    const feed = new BodyFeed(res, decoder);
    feed.#listen();
    return feed;
  }

  /** Feeds everything to `sink`; resolves at the end of the body, rejects on the first failure. */
  into(sink: FileSink, onBytes: (bytes: number) => void): Promise<void> {
    this.#sink = sink;
    this.#onBytes = onBytes;
    return new Promise<void>((resolve, reject) => {
      this.#settle = { resolve, reject };
      const queued = this.#queue;
      this.#queue = [];
      if (this.#failure !== undefined) {
        // The connection failed while the sink was opening: what arrived before is still kept, for
        // the next attempt to resume from (under load the whole body of a short drop came first).
        try {
          for (const chunk of queued) void sink.write(chunk)?.catch(() => {});
        } catch {
          // A sink that cannot write: the failure below is what counts.
        }
        return reject(this.#failure);
      }
      for (const chunk of queued) this.#deliver(chunk, this.#decoder ?? this.#res.body);
      if (this.#ended && this.#failure === undefined) resolve();
    });
  }

  /** Drops the body (when the sink could not be opened). */
  abort(): void {
    this.#fail(new Error('download abandoned'));
  }

  #mayPause(): boolean {
    return this.#chunked || (this.#rawTotal !== undefined && this.#rawTotal - this.#raw > PAUSE_MARGIN);
  }

  #fail(e: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = e;
    this.#res.discard();
    this.#decoder?.destroy();
    this.#settle?.reject(e);
  }

  #end(): void {
    this.#ended = true;
    if (this.#failure === undefined) this.#settle?.resolve();
  }

  /** Decoded (or raw) bytes to the sink; `source` is paused while the sink catches up, if allowed. */
  #deliver(chunk: Buffer, source: NodeJS.ReadableStream): void {
    if (!this.#sink) {
      this.#queue.push(chunk);
      return;
    }
    let wait: Promise<void> | undefined;
    try {
      wait = this.#sink.write(chunk);
    } catch (e) {
      return this.#fail(e);
    }
    this.#onBytes(this.#sink.size);
    if (!wait) return;
    const pause = source !== this.#res.body || this.#mayPause();
    if (pause) source.pause();
    wait.then(
      () => pause && source.resume(),
      (e: unknown) => this.#fail(e),
    );
  }

  #listen(): void {
    const body = this.#res.body;
    const decoder = this.#decoder;
    body.once('error', (e: unknown) => this.#fail(e));
    body.on('data', (chunk: Buffer) => {
      this.#raw += chunk.length;
      if (!decoder) return this.#deliver(chunk, body);
      // The decoder's own buffer is the backpressure here; the same rule decides whether the body may pause.
      if (!decoder.write(chunk) && this.#mayPause()) {
        body.pause();
        decoder.once('drain', () => body.resume());
      }
    });
    if (!decoder) {
      body.once('end', () => this.#end());
      return;
    }
    decoder.on('data', (chunk: Buffer) => this.#deliver(chunk, decoder));
    decoder.once('error', (e: unknown) => this.#fail(e));
    decoder.once('end', () => this.#end());
    body.once('end', () => decoder.end());
  }
}
