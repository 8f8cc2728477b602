import type * as Crypto from 'node:crypto';
import type * as Fs from 'node:fs';
import type * as WorkerThreads from 'node:worker_threads';

/**
 * Indexes of the shared control words: begun, the file descriptor, ranges published, end of input,
 * a thread failed, ranges consumed by each thread.
 */
export const WORDS = { BEGIN: 0, FD: 1, PRODUCED: 2, ENDED: 3, FAILED: 4, WRITTEN: 5, HASHED: 6 } as const;

/** What a thread posts when it is done. */
export type SinkReply = { written: number } | { digest: string } | { error: string; code?: string; syscall?: string; at?: number };

interface SinkData {
  mode: 'write' | 'hash';
  path: string;
  ring: SharedArrayBuffer;
  control: SharedArrayBuffer;
  start: SharedArrayBuffer;
  entries: SharedArrayBuffer;
  slots: number;
  words: typeof WORDS;
}

/**
 * A thread's body, run from source (`eval`), so it must not reference anything outside itself (the
 * word indexes and geometry come as data). Waits for begin(), then either writes every published
 * range to the file from offset `start` on, or hashes the file's first `start` bytes and then every
 * range, in order. Posts its result once the input has ended and every range is consumed.
 */
export function sinkLoop(fs: typeof Fs, crypto: typeof Crypto, wt: typeof WorkerThreads): void {
  const { mode, path, ring, control, start, entries, slots, words } = wt.workerData as SinkData;
  const { BEGIN, FD, PRODUCED, ENDED, FAILED, WRITTEN, HASHED } = words;
  const mine = mode === 'write' ? WRITTEN : HASHED;
  const ctl = new Int32Array(control);
  const ranges = new Int32Array(entries);
  const data = new Uint8Array(ring);
  const hash = crypto.createHash('sha256');
  // Timed waits: terminate() must be able to end a thread that is waiting.
  while (Atomics.load(ctl, BEGIN) === 0) Atomics.wait(ctl, BEGIN, 0, 1000);
  const fd = ctl[FD]!;
  let at = new Float64Array(start)[0]!;
  try {
    if (mode === 'hash' && at > 0) {
      const buf = Buffer.allocUnsafe(1024 * 1024);
      const rfd = fs.openSync(path, 'r');
      for (let off = 0; off < at; ) {
        const n = fs.readSync(rfd, buf, 0, Math.min(buf.length, at - off), off);
        if (n === 0) throw new Error(`the partial download ends at byte ${off}, before ${at}`);
        hash.update(buf.subarray(0, n));
        off += n;
      }
      fs.closeSync(rfd);
    }
    for (let consumed = 0; ; ) {
      const produced = Atomics.load(ctl, PRODUCED);
      if (produced === consumed) {
        if (Atomics.load(ctl, ENDED) === 1 && Atomics.load(ctl, PRODUCED) === consumed) break;
        Atomics.wait(ctl, PRODUCED, produced, 1000);
        continue;
      }
      const i = (consumed % slots) * 2;
      const bytes = data.subarray(ranges[i]!, ranges[i]! + ranges[i + 1]!);
      if (mode === 'hash') hash.update(bytes);
      else
        for (let off = 0; off < bytes.length; ) {
          const n = fs.writeSync(fd, bytes, off, bytes.length - off, at);
          off += n;
          at += n;
        }
      consumed++;
      Atomics.store(ctl, mine, consumed);
      Atomics.notify(ctl, mine);
    }
    wt.parentPort!.postMessage(mode === 'hash' ? { digest: hash.digest('hex') } : { written: at });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    Atomics.store(ctl, FAILED, 1);
    Atomics.notify(ctl, mine);
    wt.parentPort!.postMessage({ error: err.message, code: err.code, syscall: err.syscall, at });
  }
}
