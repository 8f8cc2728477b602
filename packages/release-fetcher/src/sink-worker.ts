import type * as Crypto from 'node:crypto';
import type * as Fs from 'node:fs';
import type * as WorkerThreads from 'node:worker_threads';

/** Receiving thread -> worker. */
export type SinkCommand =
  | { type: 'open'; fd: number; start: number }
  | { type: 'data'; buf: ArrayBuffer; len: number; pos: number }
  | { type: 'finish' };

/** Worker -> receiving thread. */
export type SinkReply =
  | { type: 'wrote'; buf: ArrayBuffer }
  | { type: 'finished'; sha256: string; size: number }
  | { type: 'failed'; message: string; code?: string; at: number };

/**
 * The worker's body, run from source (`eval`: no file to locate once the CLI is bundled), so it
 * references nothing outside itself. On `open` it hashes the file's first `start` bytes (a resumed
 * download); then for each `data` batch it hashes and writes it at its offset and hands the buffer
 * back; every 64 MiB it starts a flush it does not wait for; `finish` syncs and replies with the
 * digest. The first failure is reported and everything after it dropped.
 */
export function sinkWorkerMain(fs: typeof Fs, crypto: typeof Crypto, wt: typeof WorkerThreads): void {
  const port = wt.parentPort!;
  const hash = crypto.createHash('sha256');
  let fd = -1;
  let size = 0;
  let failed = false;
  let sinceFlush = 0;
  let flushing = false;
  const fail = (e: NodeJS.ErrnoException, at: number) => {
    failed = true;
    port.postMessage({ type: 'failed', message: e.message, code: e.code, at });
  };
  port.on('message', (m: SinkCommand) => {
    if (m.type === 'open') {
      fd = m.fd;
      size = m.start;
      try {
        const chunk = Buffer.allocUnsafe(1 << 20);
        for (let off = 0; off < m.start; ) {
          const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, m.start - off), off);
          if (n === 0) throw Object.assign(new Error(`the part file is shorter than ${m.start} bytes`), { code: 'ESHORT' });
          hash.update(chunk.subarray(0, n));
          off += n;
        }
      } catch (e) {
        fail(e as NodeJS.ErrnoException, 0);
      }
      return;
    }
    if (m.type === 'data') {
      if (!failed) {
        const view = Buffer.from(m.buf, 0, m.len);
        try {
          hash.update(view);
          for (let off = 0; off < m.len; ) off += fs.writeSync(fd, view, off, m.len - off, m.pos + off);
          size = m.pos + m.len;
          sinceFlush += m.len;
          if (sinceFlush >= 64 << 20 && !flushing) {
            sinceFlush = 0;
            flushing = true;
            // An error here (EIO, ENOSPC) comes back from the final sync, which is checked.
            fs.fdatasync(fd, () => (flushing = false));
          }
        } catch (e) {
          fail(e as NodeJS.ErrnoException, m.pos);
        }
      }
      port.postMessage({ type: 'wrote', buf: m.buf }, [m.buf]);
      return;
    }
    if (failed) return;
    try {
      fs.fsyncSync(fd);
      port.postMessage({ type: 'finished', sha256: hash.digest('hex'), size });
    } catch (e) {
      fail(e as NodeJS.ErrnoException, size);
    }
  });
}
