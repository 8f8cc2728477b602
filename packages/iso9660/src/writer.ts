import type { Writable } from 'node:stream';
import { z } from 'zod';
import { IsoError } from './errors.js';
import {
  buildImage,
  type ImageOptions,
  type IsoResult,
  TEXT_DEFAULTS,
  writeImageToPath,
  writeImageToStream,
} from './image-writer.js';
import type { IsoEntry } from './tree.js';

export type { IsoResult } from './image-writer.js';

const optionsSchema = z.object({
  volumeId: z.string().min(1, 'volumeId must not be empty').max(32, 'volumeId may be at most 32 characters'),
  joliet: z.boolean().default(true),
  rockRidge: z.boolean().default(false),
  date: z.date().optional(),
  systemId: z.string().max(32).default(TEXT_DEFAULTS.systemId),
  applicationId: z.string().max(128).default(TEXT_DEFAULTS.applicationId),
  publisherId: z.string().max(128).default(TEXT_DEFAULTS.publisherId),
  preparerId: z.string().max(128).default(TEXT_DEFAULTS.preparerId),
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

function parseOptions(options: CreateIsoOptions): ImageOptions {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new IsoError('ISO_INVALID_OPTION', parsed.error.issues.map((i) => i.message).join('; '));
  return parsed.data;
}

/**
 * Writes an ISO image to `destination`. A path is written to a temp file beside it and renamed into
 * place only when complete, so an existing image is never left half-written. Memory use does not
 * grow with the data size.
 */
export async function writeIso(
  entries: readonly IsoEntry[],
  destination: string | Writable,
  options: CreateIsoOptions,
): Promise<IsoResult> {
  const opts = parseOptions(options);
  return typeof destination === 'string'
    ? writeImageToPath(entries, destination, opts)
    : writeImageToStream(entries, destination, opts);
}

/** Builds a small image in memory (config and seed disks). */
export async function buildIso(entries: readonly IsoEntry[], options: CreateIsoOptions): Promise<Buffer> {
  return buildImage(entries, parseOptions(options));
}
