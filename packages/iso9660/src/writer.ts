import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { z } from 'zod';
import { resolveDate } from './dates.js';
import { IsoError } from './errors.js';
import { planLayout, SECTOR } from './layout.js';
import { encodeMetadata } from './serialize.js';
import { BufferedSink } from './sink.js';
import { buildTree, type IsoEntry, type TreeNode } from './tree.js';

const optionsSchema = z.object({
  volumeId: z.string().min(1, 'volumeId must not be empty').max(32, 'volumeId may be at most 32 characters'),
  joliet: z.boolean().default(true),
  rockRidge: z.boolean().default(false),
  date: z.date().optional(),
  systemId: z.string().max(32).default('LINUX'),
  applicationId: z.string().max(128).default('STACK ISO9660'),
  publisherId: z.string().max(128).default(''),
  preparerId: z.string().max(128).default(''),
  fsync: z.boolean().default(true),
  signal: z.instanceof(AbortSignal).optional(),
});

export interface CreateIsoOptions {
  /** Volume label; cloud-init looks for `cidata`. Upper-cased in the ISO 9660 descriptor, kept in Joliet. */
  volumeId: string;
  /** Write a Joliet tree (full Unicode names up to 64 characters; what Linux reads). @default true */
  joliet?: boolean;
  /** Write Rock Ridge entries (POSIX names, modes incl. the exec bit, symlinks). @default false */
  rockRidge?: boolean;
  /** Timestamp of the volume and of every entry, for reproducible output. @default SOURCE_DATE_EPOCH, else now (and entry mtimes) */
  date?: Date;
  /** @default "LINUX" */
  systemId?: string;
  /** @default "STACK ISO9660" */
  applicationId?: string;
  /** @default "" */
  publisherId?: string;
  /** @default "" */
  preparerId?: string;
  /**
   * When writing to a path, fsync the image before renaming it into place, so a crash never leaves a
   * renamed but incomplete image. @default true
   */
  fsync?: boolean;
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
    throw new IsoError('ISO_UNSUPPORTED_ENTRY', `"${node.path}" is a symlink, which only Rock Ridge can record: enable it (--rock-ridge)`, { path: node.path });
  }
  for (const c of node.children) assertSupported(c, rockRidge);
}

async function writeTo(entries: readonly IsoEntry[], options: CreateIsoOptions, write: (chunk: Buffer) => Promise<void>): Promise<IsoResult> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new IsoError('ISO_INVALID_OPTION', parsed.error.issues.map((i) => i.message).join('; '));
  const opts = parsed.data;
  const { date, fixed } = resolveDate(opts.date);
  const root = buildTree(entries, { mtime: date, fixedDate: fixed });
  assertSupported(root, opts.rockRidge);
  const plan = planLayout(root, { volumeId: opts.volumeId, joliet: opts.joliet, rockRidge: opts.rockRidge });
  const sink = new BufferedSink(write);
  for (const region of encodeMetadata(plan, opts, date)) await sink.put(region);
  for (const f of plan.files) {
    opts.signal?.throwIfAborted();
    const data = f.node.data!;
    const size = f.node.size;
    if (typeof data === 'string' || data instanceof Uint8Array) await sink.put(Buffer.from(data));
    else if ('path' in data) await sink.copyFile(data.path, size);
    else {
      let n = 0;
      for await (const chunk of data.stream()) {
        n += chunk.length;
        if (n > size) break;
        await sink.put(chunk);
      }
      if (n !== size) throw new IsoError('ISO_SIZE_MISMATCH', `"${f.node.path}": its stream gave ${n > size ? 'more than' : n} bytes, the entry declared ${size}`, { path: f.node.path });
    }
    const rest = size % SECTOR;
    if (rest) await sink.zeros(SECTOR - rest);
  }
  await sink.end();
  const expected = plan.totalSectors * SECTOR;
  if (sink.written !== expected) throw new Error(`internal: wrote ${sink.written} bytes, planned ${expected}`);
  return { bytes: expected, files: plan.files.length, directories: plan.primary.dirs.length };
}

/**
 * Writes an ISO image to `destination`. A path is written to a temp file beside it and renamed into
 * place only when complete, so an existing image is never left half-written. Memory use does not
 * grow with the data size.
 */
export async function writeIso(entries: readonly IsoEntry[], destination: string | Writable, options: CreateIsoOptions): Promise<IsoResult> {
  if (typeof destination !== 'string') {
    const stream = destination;
    return writeTo(entries, options, (chunk) => new Promise((resolve, reject) => stream.write(chunk, (e) => (e ? reject(e) : resolve()))));
  }
  const tmp = join(dirname(destination), `.${basename(destination)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    const result = await writeTo(entries, options, async (chunk) => {
      await fh.write(chunk);
    });
    if (options.fsync !== false) await fh.sync();
    await fh.close();
    await rename(tmp, destination);
    return result;
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Builds a small image in memory (config and seed disks). */
export async function buildIso(entries: readonly IsoEntry[], options: CreateIsoOptions): Promise<Buffer> {
  const parts: Buffer[] = [];
  await writeTo(entries, options, async (chunk) => {
    parts.push(Buffer.from(chunk));
  });
  return Buffer.concat(parts);
}
