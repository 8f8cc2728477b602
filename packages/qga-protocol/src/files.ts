import type { CallOptions } from '@stack/internal';
import { z } from 'zod';
import type { QgaClient } from './client.js';
import { QgaInvalidReplyError } from './errors.js';

// guest-file-read caps `count` at 48 MB so the base64 reply stays under QEMU's 64 MiB JSON token
// limit (qobject/json-streamer.c); 4 MiB chunks keep each reply line small.
const CHUNK = 4 * 1024 * 1024;
const readSchema = z.object({ count: z.number().int(), 'buf-b64': z.string(), eof: z.boolean() });

async function withHandle<T>(
  qga: QgaClient,
  path: string,
  mode: string,
  options: CallOptions,
  use: (handle: number) => Promise<T>,
): Promise<T> {
  const handle = await qga.execute<number>('guest-file-open', { path, mode }, options);
  if (!Number.isInteger(handle)) throw new QgaInvalidReplyError('guest-file-open');
  try {
    return await use(handle);
  } finally {
    await qga.execute('guest-file-close', { handle }, { timeout: options.timeout }).catch(() => {});
  }
}

/** Reads a whole file from the guest. */
export function readFile(qga: QgaClient, path: string, options: CallOptions = {}): Promise<Buffer> {
  return withHandle(qga, path, 'r', options, async (handle) => {
    const parts: Buffer[] = [];
    for (;;) {
      const r = readSchema.safeParse(await qga.execute('guest-file-read', { handle, count: CHUNK }, options));
      if (!r.success) throw new QgaInvalidReplyError('guest-file-read', { cause: r.error });
      parts.push(Buffer.from(r.data['buf-b64'], 'base64'));
      if (r.data.eof || r.data.count === 0) return Buffer.concat(parts);
    }
  });
}

/** Options of {@link writeFile}. */
export interface WriteFileOptions extends CallOptions {
  /**
   * The guest-file-open mode: `w` creates or truncates; `r+` writes into a file that must exist,
   * without truncating it. Use `r+` for a FIFO: opened write-only without a reader, it fails (ENXIO,
   * qemu-ga 10 opens non-blocking) or blocks the agent, which serves one command at a time; opened
   * read-write it never blocks on Linux, and what nobody reads is dropped with the last close.
   * @default 'w'
   */
  mode?: 'w' | 'r+';
}

/**
 * Writes a file in the guest (creates or truncates it, unless `mode` says otherwise). `data` may be a
 * function, called once the file is open: a timestamp is then as fresh as it can be when it is written.
 */
export function writeFile(
  qga: QgaClient,
  path: string,
  data: Uint8Array | string | (() => Uint8Array | string),
  { mode = 'w', ...options }: WriteFileOptions = {},
): Promise<void> {
  return withHandle(qga, path, mode, options, async (handle) => {
    const bytes = Buffer.from(typeof data === 'function' ? data() : data);
    for (let off = 0; off < bytes.length; off += CHUNK) {
      await qga.execute(
        'guest-file-write',
        { handle, 'buf-b64': bytes.subarray(off, off + CHUNK).toString('base64') },
        options,
      );
    }
    await qga.execute('guest-file-flush', { handle }, options);
  });
}
