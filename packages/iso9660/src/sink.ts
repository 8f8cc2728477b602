import { type FileHandle, open } from 'node:fs/promises';
import { IsoError } from './errors.js';

/**
 * Batches output into one reusable buffer, so small files and their padding cost one write, and file
 * contents are read straight into it (no intermediate copies). Memory stays fixed whatever the data size.
 */
export class BufferedSink {
  readonly #buf: Buffer;
  readonly #write: (chunk: Buffer) => Promise<void>;
  #used = 0;
  written = 0;

  constructor(write: (chunk: Buffer) => Promise<void>, size = 4 * 1024 * 1024) {
    this.#buf = Buffer.alloc(size);
    this.#write = write;
  }

  async put(data: Uint8Array): Promise<void> {
    if (data.length >= this.#buf.length) {
      await this.flush();
      await this.#write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      this.written += data.length;
      return;
    }
    let off = 0;
    while (off < data.length) {
      if (this.#used === this.#buf.length) await this.flush();
      const n = Math.min(this.#buf.length - this.#used, data.length - off);
      this.#buf.set(data.subarray(off, off + n), this.#used);
      this.#used += n;
      off += n;
    }
  }

  async zeros(count: number): Promise<void> {
    while (count > 0) {
      if (this.#used === this.#buf.length) await this.flush();
      const n = Math.min(this.#buf.length - this.#used, count);
      this.#buf.fill(0, this.#used, this.#used + n);
      this.#used += n;
      count -= n;
    }
  }

  /** Copies exactly `size` bytes of the file at `path`; a file that shrank or grew since it was listed is an error. */
  async copyFile(path: string, size: number): Promise<void> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw new IsoError('ISO_SOURCE_ERROR', `cannot read "${path}": ${(e as Error).message}`, { cause: e, path });
    }
    try {
      let left = size;
      while (left > 0) {
        if (this.#used === this.#buf.length) await this.flush();
        const want = Math.min(this.#buf.length - this.#used, left);
        const { bytesRead } = await fh.read(this.#buf, this.#used, want, null);
        if (bytesRead === 0) throw new IsoError('ISO_SIZE_MISMATCH', `"${path}" shrank while the image was written (expected ${size} bytes)`, { path });
        this.#used += bytesRead;
        left -= bytesRead;
      }
      const probe = await fh.read(Buffer.alloc(1), 0, 1, null);
      if (probe.bytesRead !== 0) throw new IsoError('ISO_SIZE_MISMATCH', `"${path}" grew while the image was written (expected ${size} bytes)`, { path });
    } finally {
      await fh.close();
    }
  }

  async flush(): Promise<void> {
    if (this.#used === 0) return;
    const n = this.#used;
    this.#used = 0;
    await this.#write(this.#buf.subarray(0, n));
    this.written += n;
  }
}
