import { type FileHandle, open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { FetchError } from './errors.js';
import { type SinkCommand, type SinkReply, sinkWorkerMain } from './sink-worker.js';

/** Bytes of one batch handed to the worker. */
const BATCH = 1 << 20;
/** Batches in flight at most (the pool): 8 MiB; more waits (backpressure on the body). */
const POOL = 8;

// An eval'd worker is a CommonJS script: require() boots it in about 40 ms.
const workerSource = `(${sinkWorkerMain.toString()})(require('node:fs'), require('node:crypto'), require('node:worker_threads'))`;

/** A booting worker, made before the response arrives so its start overlaps the request. */
export function spawnSinkWorker(): Worker {
  return new Worker(workerSource, {
    eval: true,
    resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
  });
}

/**
 * Writes a download to its part file at its offset and hashes it, on a worker thread. The receiving
 * thread only copies each chunk into a 1 MiB batch and hands full batches over (transferred, not
 * copied); the worker hashes, writes and hands the buffer back. Over HTTPS on 2 cores the receiving
 * thread has TLS and undici's parser to run, and hashing there too made it the bottleneck: 1 GiB took
 * 7.0 s against curl's 3.4 s (see bench/download.bench.ts).
 */
export class FileSink {
  readonly path: string;
  #fh: FileHandle;
  #worker: Worker;
  #free: ArrayBuffer[] = [];
  #made = 0;
  #cur: Buffer | undefined;
  #curLen = 0;
  /** File offset of the next batch handed over. */
  #pos: number;
  #accepted: number;
  /** Chunks not yet copied into a batch, in order, and how much of the first is copied. */
  #queue: Buffer[] = [];
  #queueOffset = 0;
  #drained: Promise<void> | undefined;
  #resolveDrained: (() => void) | undefined;
  /** Called on every buffer that comes back (close() waits with it). */
  #waiter: (() => void) | undefined;
  #failure: FetchError | undefined;
  #finished: ((r: { sha256: string; size: number } | FetchError) => void) | undefined;
  #exited = false;

  private constructor(path: string, fh: FileHandle, worker: Worker, start: number) {
    this.path = path;
    this.#fh = fh;
    this.#worker = worker;
    this.#pos = start;
    this.#accepted = start;
    worker.on('message', (m: SinkReply) => this.#onReply(m));
    worker.once('error', (e) => this.#fail(diskError(path, this.#pos, e)));
    worker.once('exit', () => {
      this.#exited = true;
      this.#fail(diskError(path, this.#pos, new Error('the download worker exited')));
    });
  }

  /**
   * Opens `path` to continue at byte `start` (the worker hashes its first `start` bytes first), or to
   * start over. `worker` is from spawnSinkWorker(); the sink owns it from here.
   */
  static async open(path: string, start: number, worker: Worker = spawnSinkWorker()): Promise<FileSink> {
    let fh: FileHandle;
    try {
      fh = await open(path, start > 0 ? 'r+' : 'w', 0o644);
      if (start > 0) await fh.truncate(start);
    } catch (e) {
      await worker.terminate();
      throw diskError(path, start, e);
    }
    const sink = new FileSink(path, fh, worker, start);
    sink.#post({ type: 'open', fd: fh.fd, start });
    return sink;
  }

  /** Bytes accepted so far, including the resumed prefix. */
  get size(): number {
    return this.#accepted;
  }

  /**
   * Takes a chunk, which the caller must not change afterwards (it may wait in a queue). Returns a
   * promise when the caller should wait before more (every batch is with the worker, and chunks
   * queue), else undefined; later calls meanwhile are queued in order. Throws FETCH_DISK once a
   * write has failed.
   */
  write(chunk: Buffer): Promise<void> | undefined {
    if (this.#failure) throw this.#failure;
    this.#accepted += chunk.length;
    this.#queue.push(chunk);
    this.#drain();
    if (this.#queue.length === 0) return undefined;
    return (this.#drained ??= new Promise<void>((resolve) => (this.#resolveDrained = resolve))).then(() => {
      if (this.#failure) throw this.#failure;
    });
  }

  /** Copies queued chunks into free batches, handing each full one to the worker. */
  #drain(): void {
    while (this.#queue.length > 0) {
      if (!this.#cur) {
        const ab = this.#free.pop() ?? (this.#made < POOL ? (this.#made++, new ArrayBuffer(BATCH)) : undefined);
        if (!ab) return; // every batch is with the worker: the next reply continues
        this.#cur = Buffer.from(ab);
      }
      const chunk = this.#queue[0]!;
      const n = chunk.copy(this.#cur, this.#curLen, this.#queueOffset);
      this.#curLen += n;
      this.#queueOffset += n;
      if (this.#queueOffset === chunk.length) {
        this.#queue.shift();
        this.#queueOffset = 0;
      }
      if (this.#curLen === BATCH) this.#hand();
    }
    const resolve = this.#resolveDrained;
    this.#drained = undefined;
    this.#resolveDrained = undefined;
    resolve?.();
  }

  #hand(): void {
    if (!this.#cur || this.#curLen === 0) return;
    const len = this.#curLen;
    const buf = this.#cur.buffer as ArrayBuffer;
    this.#post({ type: 'data', buf, len, pos: this.#pos }, [buf]);
    this.#pos += len;
    this.#cur = undefined;
    this.#curLen = 0;
  }

  #post(m: SinkCommand, transfer: ArrayBuffer[] = []): void {
    this.#worker.postMessage(m, transfer);
  }

  #onReply(m: SinkReply): void {
    if (m.type === 'wrote') {
      this.#free.push(m.buf);
      if (!this.#failure) this.#drain();
      const w = this.#waiter;
      this.#waiter = undefined;
      w?.();
    } else if (m.type === 'failed') {
      this.#fail(diskError(this.path, m.at, Object.assign(new Error(m.message), { code: m.code })));
    } else {
      this.#finished?.(m);
    }
  }

  #fail(e: FetchError): void {
    if (this.#failure) return;
    this.#failure = e;
    this.#queue = [];
    const resolve = this.#resolveDrained;
    this.#drained = undefined;
    this.#resolveDrained = undefined;
    resolve?.();
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
    this.#finished?.(e);
  }

  /** Hands over what is left, makes the file durable and returns its size and sha256. Throws FETCH_DISK. */
  async finish(): Promise<{ size: number; sha256: string }> {
    await this.#drained;
    if (this.#failure) throw this.#failure;
    this.#hand();
    const r = await new Promise<{ sha256: string; size: number } | FetchError>((resolve) => {
      this.#finished = resolve;
      this.#post({ type: 'finish' });
    });
    if (r instanceof FetchError) throw r;
    return r;
  }

  /**
   * Stops the worker and closes the file. What was handed over before is written first (kept for a
   * resume); never throws.
   */
  async close(): Promise<void> {
    if (!this.#exited && !this.#failure) {
      // Chunks still queued are copied into batches first (as batches come back), then the last one goes.
      await this.#drained;
      if (!this.#failure) this.#hand();
      // The worker answers in order: once the last batch comes back, everything before it is written.
      await new Promise<void>((resolve) => {
        const check = () => (this.#free.length === this.#made || this.#failure ? resolve() : (this.#waiter = check));
        check();
      });
    }
    this.#failure ??= new FetchError('FETCH_ABORTED', 'the download sink was closed');
    await this.#worker.terminate().catch(() => {});
    await this.#fh.close().catch(() => {});
  }
}

function diskError(path: string, at: number, e: unknown): FetchError {
  return new FetchError(
    'FETCH_DISK',
    `cannot write ${path} at byte ${at}: ${(e as Error).message}; free some space (or fix the disk) and pull again: it resumes from there`,
    { cause: e },
  );
}
