import type * as Crypto from 'node:crypto';
import type * as Fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import type * as WorkerThreads from 'node:worker_threads';
import { FetchError } from './errors.js';

/** Ring geometry: SLOTS slots of SLOT bytes; a pushed chunk larger than a slot is split. */
const SLOT = 1024 * 1024;
const SLOTS = 8;
/** Indexes of the control words: slots produced, slots consumed, end flag, thread failed flag. */
const WORDS = { PRODUCED: 0, CONSUMED: 1, ENDED: 2, FAILED: 3 } as const;
const { PRODUCED, CONSUMED, ENDED, FAILED } = WORDS;

/** Hashing 8 MiB takes milliseconds; a thread that consumes nothing for this long is gone. */
const STALL_MS = 30_000;

type Reply = { digest: string } | { error: string };

/**
 * The worker's body, run from source (`eval`), so it must not reference anything outside itself. It
 * hashes the resumed prefix of the file first, then every slot of the ring in order, waiting on the
 * control words, and posts the digest once the producer has ended and the ring is drained.
 */
function hashLoop(fs: typeof Fs, crypto: typeof Crypto, wt: typeof WorkerThreads): void {
  const { path, prefix, ring, control, lengths, slot, slots, words } = wt.workerData as { path: string; prefix: number; ring: SharedArrayBuffer; control: SharedArrayBuffer; lengths: SharedArrayBuffer; slot: number; slots: number; words: typeof WORDS };
  // This function cannot see the module's constants: the geometry and word indexes come as data.
  const { PRODUCED, CONSUMED, ENDED, FAILED } = words;
  const ctl = new Int32Array(control);
  const len = new Int32Array(lengths);
  const data = new Uint8Array(ring);
  const hash = crypto.createHash('sha256');
  try {
    if (prefix > 0) {
      const buf = Buffer.allocUnsafe(1024 * 1024);
      const fd = fs.openSync(path, 'r');
      for (let at = 0; at < prefix; ) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, prefix - at), at);
        if (n === 0) throw new Error(`the partial download ends at byte ${at}, before ${prefix}`);
        hash.update(buf.subarray(0, n));
        at += n;
      }
      fs.closeSync(fd);
    }
    for (let consumed = 0; ; ) {
      const produced = Atomics.load(ctl, PRODUCED);
      if (produced === consumed) {
        if (Atomics.load(ctl, ENDED) === 1 && Atomics.load(ctl, PRODUCED) === consumed) break;
        Atomics.wait(ctl, PRODUCED, produced, 1000);
        continue;
      }
      const i = consumed % slots;
      hash.update(data.subarray(i * slot, i * slot + len[i]!));
      consumed++;
      Atomics.store(ctl, CONSUMED, consumed);
      Atomics.notify(ctl, CONSUMED);
    }
    wt.parentPort!.postMessage({ digest: hash.digest('hex') } satisfies Reply);
  } catch (e) {
    Atomics.store(ctl, FAILED, 1);
    Atomics.notify(ctl, CONSUMED);
    wt.parentPort!.postMessage({ error: (e as Error).message } satisfies Reply);
  }
}

const workerSource = `Promise.all([import('node:fs'), import('node:crypto'), import('node:worker_threads')]).then(([fs, crypto, wt]) => (${hashLoop.toString()})(fs, crypto, wt))`;

/**
 * sha256 of a download computed on another thread as the bytes arrive: hashing 1 GiB costs about
 * 0.6 s of CPU, which on the receiving thread came on top of the download. Chunks are copied into a
 * shared 8 MiB ring (a copy costs a tenth of the hash). Reading the bytes back from the file instead
 * made the writes to it three times slower (both threads on the same pages).
 */
export class HashThread {
  readonly #worker: Worker;
  readonly #reply: Promise<Reply>;
  readonly #ctl: Int32Array;
  readonly #len: Int32Array;
  readonly #ring: Uint8Array;
  #produced = 0;

  /** `path` and `prefix`: the bytes already in the file from an earlier attempt, hashed first. */
  constructor(path: string, prefix: number) {
    const ring = new SharedArrayBuffer(SLOT * SLOTS);
    const control = new SharedArrayBuffer(4 * 4);
    const lengths = new SharedArrayBuffer(4 * SLOTS);
    this.#ring = new Uint8Array(ring);
    this.#ctl = new Int32Array(control);
    this.#len = new Int32Array(lengths);
    this.#worker = new Worker(workerSource, { eval: true, workerData: { path, prefix, ring, control, lengths, slot: SLOT, slots: SLOTS, words: WORDS }, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 } });
    this.#reply = new Promise<Reply>((resolve, reject) => {
      this.#worker.once('message', resolve);
      this.#worker.once('error', (e) => reject(new FetchError('FETCH_NETWORK', `hashing thread failed: ${e.message}`, { cause: e })));
      this.#worker.once('exit', (code) => reject(new FetchError('FETCH_NETWORK', `hashing thread exited (code ${code})`)));
    });
    this.#reply.catch(() => {}); // observed by digest(); close() before then is not an error
  }

  /**
   * Copies `chunk` into the ring. When the ring is full the calling thread waits for the hash to
   * catch up (backpressure: the socket is not read meanwhile).
   */
  push(chunk: Uint8Array): void {
    for (let off = 0; off < chunk.byteLength; ) {
      const since = performance.now();
      while (this.#produced - Atomics.load(this.#ctl, CONSUMED) >= SLOTS) {
        if (Atomics.load(this.#ctl, FAILED) === 1) return; // digest() reports the failure
        // A thread that died before its first instruction cannot raise FAILED, and its 'exit' event
        // needs this (blocked) thread's event loop: give up on a stall instead of waiting forever.
        if (performance.now() - since > STALL_MS) throw new FetchError('FETCH_NETWORK', `the hashing thread stopped consuming for ${STALL_MS / 1000} s`);
        Atomics.wait(this.#ctl, CONSUMED, Atomics.load(this.#ctl, CONSUMED), 100);
      }
      const i = this.#produced % SLOTS;
      const n = Math.min(SLOT, chunk.byteLength - off);
      this.#ring.set(chunk.subarray(off, off + n), i * SLOT);
      this.#len[i] = n;
      off += n;
      this.#produced++;
      Atomics.store(this.#ctl, PRODUCED, this.#produced);
      Atomics.notify(this.#ctl, PRODUCED);
    }
  }

  /** Ends the input and waits for the digest of everything pushed (after the prefix), then ends the thread. */
  async digest(): Promise<string> {
    Atomics.store(this.#ctl, ENDED, 1);
    Atomics.notify(this.#ctl, PRODUCED);
    try {
      const r = await this.#reply;
      if ('error' in r) throw new FetchError('FETCH_NETWORK', `hashing the download failed: ${r.error}`);
      return r.digest;
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
