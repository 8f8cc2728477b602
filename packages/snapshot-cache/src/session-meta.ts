import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '@stack/internal';
import { SnapshotError } from './errors.js';
import { type SessionRam, sessionRamSchema } from './session-ram.js';
import { statIfExists } from './stat-if-exists.js';

export const SESSION_META = 'meta.json';
export const SESSION_DISK = 'disk.qcow2';

export interface SessionMeta {
  version: 1;
  createdAt: string;
  /** How the disk began: on a golden snapshot's disk, fresh on the image, or adopted from an earlier tool. */
  origin: 'golden' | 'image' | 'adopted';
  /** The image the session runs on (pinned: a link to it lives in the session). */
  image: { digest: string; choice: string };
  snapshotId?: string;
  /** The published client key of the secrets the disk holds, and how they came to be. */
  clientKey?: string;
  secrets?: 'fresh' | 'placeholders' | 'kept';
  /** Set while a VM runs on the disk; still set at the next start means it did not stop cleanly. */
  running?: { since: string; pid: number };
  lastStop?: { at: string; saved: boolean };
  ram?: SessionRam;
  /**
   * The disk the VM writes since a checkpoint froze `disk.qcow2` while it ran (see session-layers.ts):
   * named `disk.qcow2` once no VM runs on the session.
   */
  pendingTop?: string;
  /**
   * The host ports the guest was last told, by service (its config disk at a cold boot, the
   * runtime's retarget hook after a resume): a resume on other ports tells it again.
   */
  guestPorts?: Record<string, number>;
}

/** meta.json; fields a newer version added are kept (loose), so an update never drops them. */
const sessionMetaSchema = z.looseObject({
  version: z.literal(1),
  createdAt: z.string(),
  origin: z.enum(['golden', 'image', 'adopted']),
  image: z.object({ digest: z.string(), choice: z.string() }),
  snapshotId: z.string().optional(),
  clientKey: z.string().optional(),
  secrets: z.enum(['fresh', 'placeholders', 'kept']).optional(),
  running: z.object({ since: z.string(), pid: z.number().int() }).optional(),
  lastStop: z.object({ at: z.string(), saved: z.boolean() }).optional(),
  ram: sessionRamSchema.optional(),
  pendingTop: z
    .string()
    .regex(/^\.top-[0-9a-z]+-[0-9a-f]{8}\.qcow2$/)
    .optional(),
  guestPorts: z.record(z.string(), z.number().int()).optional(),
}) satisfies z.ZodType<SessionMeta>;

/** meta.json's text as a session's meta, or undefined when it is not one (not JSON, or not the schema). */
function parseSessionMeta(text: string): SessionMeta | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = sessionMetaSchema.safeParse(json);
  return r.success ? r.data : undefined;
}

const unreadable = (path: string, e: unknown) =>
  new SnapshotError('SNAPSHOT_SESSION_UNREADABLE', `cannot read ${path}: ${(e as Error).message}`, { cause: e });

/**
 * The session in `dir`: undefined when there is none (no directory, no meta.json, no disk) or its
 * meta.json is not a session's (garbled or another schema: the caller may set the directory aside).
 * A directory that cannot be read now (EIO, EMFILE, EACCES...) is neither: it throws
 * SNAPSHOT_SESSION_UNREADABLE with the cause, so nothing treats a live session as gone.
 */
export async function readSessionMeta(dir: string): Promise<SessionMeta | undefined> {
  const path = join(dir, SESSION_META);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw unreadable(path, e);
  }
  const meta = parseSessionMeta(text);
  if (!meta) return undefined;
  const disk = await statIfExists(join(dir, SESSION_DISK)).catch((e: unknown) => {
    throw unreadable(join(dir, SESSION_DISK), e);
  });
  return disk ? meta : undefined;
}

/** Replaces meta.json atomically and durably (temp, fsync, rename, fsync of the directory). */
export async function writeSessionMeta(dir: string, meta: SessionMeta, options: { fsync?: boolean } = {}) {
  await writeFileAtomic(join(dir, SESSION_META), `${JSON.stringify(meta, null, 2)}\n`, {
    mode: 0o600,
    fsync: options.fsync ?? true,
  });
}
