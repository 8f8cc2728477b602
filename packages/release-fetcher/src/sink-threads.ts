import { Worker } from 'node:worker_threads';
import { FetchError } from './errors.js';
import { type RingRegion, RingSpace } from './ring-space.js';
import { type SinkReply, sinkLoop, WORDS } from './sink-loop.js';

/** Bytes of the shared ring; the socket reads straight into it (see reserve()). */
const RING = 16 * 1024 * 1024;
/** Most bytes offered to one socket read. */
const READ = 1024 * 1024;
/** A read is offered no fewer free bytes than this (else it waits for the threads). */
const MIN_READ = 64 * 1024;
/** Published ranges in flight at most. */
const ENTRIES = 256;
const { BEGIN, FD, PRODUCED, ENDED, FAILED, WRITTEN, HASHED } = WORDS;

/** Writing or hashing 16 MiB takes milliseconds; threads that consume nothing for this long are gone. */
const STALL_MS = 30_000;

// An eval'd worker is a CommonJS script: require() boots it in about 40 ms, import() in 55.
const workerSource = `(${sinkLoop.toString()})(require('node:fs'), require('node:crypto'), require('node:worker_threads'))`;

/** A thread's failure: `syscall` is `write` when the disk refused the bytes, `at` the file offset it stopped at. */
export class SinkError extends Error {
  constructor(
    message: string,
    readonly syscall: string | undefined,
    readonly at: number,
    readonly errno: string | undefined,
  ) {
    super(message);
    this.name = 'SinkError';
  }
}

export interface SinkResult {
  /** The file's size once everything pushed is written. */
  size: number;
  /** sha256 of the resumed prefix plus everything pushed. */
  sha256: string;
}

/**
 * Writes a download to its file and hashes it, on two threads of their own fed from one shared ring
 * that the socket reads into (no copy). The receiving thread then only receives: with the write on
 * it too it was the bottleneck of a 1 GiB loopback download on 2 cores (write 0.4 s, hash 0.8 s,
 * receive 0.5 s of CPU). Reading the bytes back from the file for the hash made the writes to it
 * three times slower. The threads start booting at construction (about 40 ms), so they do it while
 * the request is under way; begin() gives them the file.
 */
export class SinkThreads {
  readonly #workers: Worker[];
  readonly #replies: Promise<SinkReply>[];
  readonly #ctl: Int32Array;
  readonly #start: Float64Array;
  readonly #entries: Int32Array;
  readonly #ring: Uint8Array;
  readonly #space = new RingSpace(RING);
  #produced = 0;
  /** The region of the pending socket read. */
  #pending: RingRegion | undefined;
  #stalled = false;
  /** finish() or close() was called: nothing more goes to the threads. */
  #closed = false;
  #scratch: Uint8Array | undefined;

  /** `path` is the file begin() will write: its first `start` bytes are hashed before the pushed ones. */
  constructor(path: string) {
    const ring = new SharedArrayBuffer(RING);
    const control = new SharedArrayBuffer(4 * Object.keys(WORDS).length);
    const start = new SharedArrayBuffer(8);
    const entries = new SharedArrayBuffer(4 * 2 * ENTRIES);
    this.#ring = new Uint8Array(ring);
    this.#ctl = new Int32Array(control);
    this.#start = new Float64Array(start);
    this.#entries = new Int32Array(entries);
    const data = { path, ring, control, start, entries, slots: ENTRIES, words: WORDS };
    this.#workers = (['write', 'hash'] as const).map((mode) => new Worker(workerSource, { eval: true, workerData: { ...data, mode }, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 } }));
    this.#replies = this.#workers.map(
      (w) =>
        new Promise<SinkReply>((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', (e) => reject(new SinkError(`download thread failed: ${e.message}`, undefined, 0, undefined)));
          w.once('exit', (code) => reject(new SinkError(`download thread exited (code ${code})`, undefined, 0, undefined)));
        }),
    );
    for (const r of this.#replies) r.catch(() => {}); // observed by finish(); close() before then is not an error
  }

  /** The threads start: writing to `fd` at offset `start`, hashing the file's first `start` bytes first. */
  begin(fd: number, start: number): void {
    this.#ctl[FD] = fd;
    this.#start[0] = start; // published to the threads by the atomic store below
    Atomics.store(this.#ctl, BEGIN, 1);
    Atomics.notify(this.#ctl, BEGIN);
  }

  /** True once a thread has failed: push() then drops its input, and finish() says why. */
  get failed(): boolean {
    return Atomics.load(this.#ctl, FAILED) === 1;
  }

  /**
   * The region the next socket read goes into (`onread.buffer`): free ring space at the head,
   * waiting for the threads while there is none (backpressure: the socket is not read meanwhile).
   * Node calls this outside any try, so it never throws: on a failure or a stall it hands out a
   * scratch buffer, and push() reports.
   */
  readonly reserve = (): Uint8Array => {
    // The previous read is handled by now (its body published, or copied out by the parser).
    if (this.#pending) this.#space.close(this.#pending);
    // A read after finish() or close() (the socket's last one) must not wait for threads that are gone.
    this.#pending = this.#closed ? undefined : this.#take(MIN_READ, READ);
    return this.#pending ? this.#ring.subarray(this.#pending.start, this.#pending.end) : (this.#scratch ??= new Uint8Array(MIN_READ));
  };

  /**
   * Hands `chunk` to the threads. A chunk that is a view of the ring (a read into reserve()'s
   * region) is published as it is; any other is copied in first. Returns false once a thread has
   * failed: stop pushing and call finish() for the reason.
   */
  push(chunk: Uint8Array): boolean {
    if (chunk.buffer === this.#ring.buffer) {
      const p = this.#pending;
      const end = chunk.byteOffset + chunk.byteLength;
      if (!p || chunk.byteOffset < p.used || end > p.end) throw new RangeError('push() of ring bytes outside the region of the pending read');
      p.used = end;
      return this.#publish(p, chunk.byteOffset, chunk.byteLength) ? !this.failed : this.#check();
    }
    for (let off = 0; off < chunk.byteLength; ) {
      const r = this.#take(1, Math.min(READ, chunk.byteLength - off));
      if (!r) return this.#check();
      const n = r.end - r.start;
      this.#ring.set(chunk.subarray(off, off + n), r.start);
      r.used = r.end;
      this.#space.close(r);
      if (!this.#publish(r, r.start, n)) return this.#check();
      off += n;
    }
    return !this.failed;
  }

  #check(): false {
    if (this.#stalled) throw new FetchError('FETCH_NETWORK', `the download threads stopped consuming for ${STALL_MS / 1000} s`);
    return false;
  }

  /** Ranges published but not yet consumed by the slower thread, and that thread's word and count. */
  #lag(): { inFlight: number; word: number; consumed: number } {
    const written = Atomics.load(this.#ctl, WRITTEN);
    const hashed = Atomics.load(this.#ctl, HASHED);
    const [word, consumed] = written <= hashed ? [WRITTEN, written] : [HASHED, hashed];
    return { inFlight: this.#produced - consumed, word, consumed };
  }

  /** Waits for the slower thread; false on a failure or a stall. */
  #wait(since: number, word: number, consumed: number): boolean {
    if (this.failed || this.#stalled) return false;
    // A thread that died before its first instruction cannot raise FAILED, and its 'exit' event
    // needs this (blocked) thread's event loop: give up on a stall instead of waiting forever.
    if (performance.now() - since > STALL_MS) {
      this.#stalled = true;
      return false;
    }
    Atomics.wait(this.#ctl, word, consumed, 100);
    return true;
  }

  /** A region of `min` to `max` free bytes, waiting for the threads while there is none; undefined on a failure or a stall. */
  #take(min: number, max: number): RingRegion | undefined {
    const since = performance.now();
    for (;;) {
      const { word, consumed } = this.#lag();
      const r = this.#space.take(min, max, consumed);
      if (r) return r;
      if (!this.#wait(since, word, consumed)) return undefined;
    }
  }

  /** Makes ring bytes [offset, offset + length) of `region` the next range for both threads; false on a failure or a stall. */
  #publish(region: RingRegion, offset: number, length: number): boolean {
    if (length === 0) return true;
    const since = performance.now();
    for (let lag = this.#lag(); lag.inFlight >= ENTRIES; lag = this.#lag()) if (!this.#wait(since, lag.word, lag.consumed)) return false;
    const i = (this.#produced % ENTRIES) * 2;
    this.#entries[i] = offset;
    this.#entries[i + 1] = length;
    region.last = this.#produced;
    this.#produced++;
    Atomics.store(this.#ctl, PRODUCED, this.#produced);
    Atomics.notify(this.#ctl, PRODUCED);
    return true;
  }

  /** Ends the input, waits until everything pushed is written and hashed, then ends the threads. */
  async finish(): Promise<SinkResult> {
    this.#closed = true;
    Atomics.store(this.#ctl, ENDED, 1);
    Atomics.notify(this.#ctl, PRODUCED);
    try {
      const replies = await Promise.all(this.#replies);
      for (const r of replies) if ('error' in r) throw new SinkError(r.error, r.syscall, r.at ?? 0, r.code);
      // In the order of #workers: the writer, then the hasher.
      const [{ written }, { digest }] = replies as [{ written: number }, { digest: string }];
      return { size: written, sha256: digest };
    } finally {
      await this.close();
    }
  }

  /** Stops both threads; what was pushed but not yet written may be lost (a resume rewrites it). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
