import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { resolveDate } from './dates.js';
import { IsoError } from './errors.js';
import { type LayoutPlan, planFiles, planLayout, SECTOR } from './layout.js';
import { type CopyJob, CopyThreads, PARALLEL_MIN_BYTES } from './parallel-copy.js';
import { encodeHead, encodeTail } from './serialize.js';
import { BufferedSink, type ChunkWriter } from './sink.js';
import { buildTree, isDiskFile, type IsoEntry, type TreeNode } from './tree.js';
import { startWriteback } from './writeback.js';

// The writer behind writeIso/buildIso, taking options that are already complete and checked. The
// public functions in writer.ts validate with zod; the CLI (whose arguments commander checks) calls
// this directly, which spares it loading zod: a tenth of the time to write a 1 GiB tree.

/** Text fields of the volume descriptors, unless given. */
export const TEXT_DEFAULTS = {
  systemId: 'LINUX',
  applicationId: 'STACK ISO9660',
  publisherId: '',
  preparerId: '',
} as const;

/** Every option, resolved (see CreateIsoOptions in writer.ts for what each means). */
export interface ImageOptions {
  volumeId: string;
  joliet: boolean;
  rockRidge: boolean;
  date?: Date;
  systemId: string;
  applicationId: string;
  publisherId: string;
  preparerId: string;
  fsync: boolean;
  signal?: AbortSignal;
}

export interface IsoResult {
  /** Image size in bytes (a multiple of 2048). */
  bytes: number;
  files: number;
  directories: number;
}

function assertSupported(node: TreeNode, rockRidge: boolean): void {
  if (node.kind === 'symlink' && !rockRidge) {
    throw new IsoError(
      'ISO_UNSUPPORTED_ENTRY',
      `"${node.path}" is a symlink, which only Rock Ridge can record: enable it (--rock-ridge)`,
      { path: node.path },
    );
  }
  for (const c of node.children) assertSupported(c, rockRidge);
}

/** Where the image goes: chunks in order, and for a file also its descriptor so threads can fill in file data. */
interface Target {
  write: ChunkWriter;
  fd?: number;
}

async function writeTo(entries: readonly IsoEntry[], opts: ImageOptions, target: Target): Promise<IsoResult> {
  // Files on disk are copied by threads straight to their place in the image while this thread
  // writes everything else; small trees are not worth starting threads for.
  const diskBytes = entries.reduce((n, e) => n + (e.type === 'file' && isDiskFile(e.data) ? e.data.size : 0), 0);
  const threads = target.fd !== undefined && diskBytes >= PARALLEL_MIN_BYTES ? new CopyThreads(target.fd) : undefined;
  let copying: Promise<void> | undefined;
  const stopCopy = new AbortController();
  try {
    const { date, fixed } = resolveDate(opts.date);
    const root = buildTree(entries, { mtime: date, fixedDate: fixed });
    assertSupported(root, opts.rockRidge);
    // File data comes first in the image, so its places are known before the directories are planned.
    const data = planFiles(root, opts.joliet);
    if (threads) {
      const jobs: CopyJob[] = [];
      for (const f of data.files) {
        const d = f.node.data!;
        if (isDiskFile(d)) jobs.push({ path: d.path, size: f.node.size, position: f.sector * SECTOR });
      }
      copying = threads.run(jobs, {
        signal: opts.signal ? AbortSignal.any([opts.signal, stopCopy.signal]) : stopCopy.signal,
      });
      copying.catch(() => {}); // awaited below; a failure meanwhile must not be an unhandled rejection
    }
    const plan = planLayout(root, { volumeId: opts.volumeId, joliet: opts.joliet, rockRidge: opts.rockRidge }, data);
    return await writeContents(plan, opts, date, target.write, copying);
  } catch (e) {
    // The threads write into the caller's file: they must be gone before it is closed and removed.
    stopCopy.abort();
    await copying?.catch(() => {});
    await threads?.close();
    throw e;
  }
}

/** Writes the metadata and every file's data in image order; files on disk are left to the threads when they are `copying`. */
async function writeContents(
  plan: LayoutPlan,
  opts: ImageOptions,
  date: Date,
  write: ChunkWriter,
  copying: Promise<void> | undefined,
): Promise<IsoResult> {
  const sink = new BufferedSink(write, opts.signal);
  for (const region of encodeHead(plan, opts, date)) await sink.put(region);
  for (const f of plan.files) {
    opts.signal?.throwIfAborted();
    if (sink.position !== f.sector * SECTOR)
      throw new Error(`internal: "${f.node.path}" planned at sector ${f.sector}, writing at byte ${sink.position}`);
    const data = f.node.data!;
    const size = f.node.size;
    const rest = size % SECTOR;
    if (typeof data === 'string' || data instanceof Uint8Array) await sink.put(Buffer.from(data));
    else if (isDiskFile(data)) {
      if (copying) {
        await sink.skip(size + (rest ? SECTOR - rest : 0));
        continue;
      }
      await sink.copyFile(data.path, size);
    } else {
      let n = 0;
      for await (const chunk of data.stream()) {
        n += chunk.length;
        if (n > size) break;
        await sink.put(chunk);
      }
      if (n !== size)
        throw new IsoError(
          'ISO_SIZE_MISMATCH',
          `"${f.node.path}": its stream gave ${n > size ? 'more than' : n} bytes, the entry declared ${size}`,
          { path: f.node.path },
        );
    }
    if (rest) await sink.zeros(SECTOR - rest);
  }
  for (const region of encodeTail(plan)) await sink.put(region);
  await sink.end();
  await copying;
  const expected = plan.totalSectors * SECTOR;
  if (sink.written !== expected) throw new Error(`internal: wrote ${sink.written} bytes, planned ${expected}`);
  return { bytes: expected, files: plan.files.length, directories: plan.primary.dirs.length };
}

/**
 * Writes an ISO image to `destination`. A path is written to a temp file beside it and renamed into
 * place only when complete, so an existing image is never left half-written. Memory use does not
 * grow with the data size.
 */
export async function writeImageToPath(
  entries: readonly IsoEntry[],
  destination: string,
  options: ImageOptions,
): Promise<IsoResult> {
  const tmp = join(dirname(destination), `.${basename(destination)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    const writeback = options.fsync ? startWriteback(fh.fd) : undefined;
    let result: IsoResult;
    try {
      result = await writeTo(entries, options, {
        fd: fh.fd,
        write: (chunk, position) => {
          // Synchronous: the chunk is 64 KiB, and a thread-pool round trip per chunk would cost more
          // than the write itself. A short write (a signal, a full disk) continues where it stopped.
          for (let off = 0; off < chunk.length;)
            off += writeSync(fh.fd, chunk, off, chunk.length - off, position + off);
        },
      });
    } finally {
      await writeback?.stop();
    }
    // The last file's data may end short of its sector, or be still unwritten holes; fix the length.
    await fh.truncate(result.bytes);
    if (options.fsync) await fh.sync();
    await fh.close();
    await rename(tmp, destination);
    return result;
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Streams keep references to written chunks, so every chunk is handed over for good; backpressure is honoured. */
export async function writeImageToStream(
  entries: readonly IsoEntry[],
  stream: Writable,
  options: ImageOptions,
): Promise<IsoResult> {
  let failed: Error | undefined;
  const onError = (e: Error) => {
    failed = e;
  };
  stream.on('error', onError);
  try {
    const result = await writeTo(entries, options, {
      write: async (chunk) => {
        if (failed) throw failed;
        if (!stream.write(chunk)) await once(stream, 'drain');
      },
    });
    // Resolves once everything written before it has been processed.
    await new Promise<void>((resolve, reject) => stream.write(Buffer.alloc(0), (e) => (e ? reject(e) : resolve())));
    if (failed) throw failed;
    return result;
  } finally {
    stream.off('error', onError);
  }
}

/** Builds a small image in memory (config and seed disks). */
export async function buildImage(entries: readonly IsoEntry[], options: ImageOptions): Promise<Buffer> {
  const parts: Buffer[] = [];
  await writeTo(entries, options, {
    write: (chunk) => {
      parts.push(Buffer.from(chunk));
    },
  });
  return Buffer.concat(parts);
}
