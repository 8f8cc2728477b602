import { open, readFile, rm, stat } from 'node:fs/promises';
import { z } from 'zod';
import { CodedError, errorGuard } from './coded-error.js';
import { sleep } from './deadline.js';
import { type IdentityOptions, isSameProcess, processStartTime } from './process-identity.js';

/** Who holds a lock: what the lock file records. */
export interface LockHolder {
  pid: number;
  /** What the holder is doing (e.g. "start", "build base image"). */
  command: string;
  /** When it took the lock (ISO 8601). */
  since: string;
  /** Its process start time (see process-identity.ts), so a reused pid is not taken for the holder. */
  startTime?: string;
}

/** A held lock. */
export interface Lock {
  path: string;
  /** Removes the lock file if it is still this holder's (idempotent). */
  release(): Promise<void>;
}

/** How long to wait for a live holder to let go. */
export interface LockWait {
  /** Milliseconds to wait before {@link LockBusyError}. @default no limit */
  timeout?: number;
  /** Stops the wait: the call rejects with the signal's reason. @default none */
  signal?: AbortSignal;
  /** Milliseconds between two looks at the lock file. @default 50 */
  pollInterval?: number;
  /** Called once, with the holder, when a live holder is found and the wait begins. @default none */
  onBusy?: (holder: LockHolder) => void;
}

export interface AcquireLockOptions {
  /** What this process is doing, recorded in the lock file and named by {@link LockBusyError}. */
  command: string;
  /** Wait for a live holder. @default no wait: {@link LockBusyError} at once */
  wait?: LockWait;
  /** How a holder's pid and start time are read (platform, /proc, ps). @default this host's */
  identity?: IdentityOptions;
}

/** Another live process holds the lock; `holder` says which. */
export class LockBusyError extends CodedError<'LOCK_BUSY'> {
  readonly path: string;
  readonly holder: LockHolder;
  constructor(path: string, holder: LockHolder) {
    super('LOCK_BUSY', `${path} is held by pid ${holder.pid} (${holder.command}, since ${holder.since})`);
    this.path = path;
    this.holder = holder;
  }
}

/** True for a LockBusyError, also one from another copy of this package (a brand, not `instanceof`). */
export const isLockBusyError = errorGuard(LockBusyError, '@stack/internal/lock');

const holderSchema = z.object({
  pid: z.number().int().positive(),
  command: z.string(),
  since: z.string(),
  startTime: z.string().optional(),
});

type Seen = LockHolder | 'missing' | 'garbled';

async function readHolder(path: string): Promise<Seen> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'garbled';
  }
  try {
    const parsed = holderSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : 'garbled';
  } catch {
    return 'garbled';
  }
}

/** O_EXCL: of several processes creating the file at once, exactly one succeeds. */
async function tryCreate(path: string, holder: LockHolder): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', 0o600);
    try {
      await fh.writeFile(JSON.stringify(holder));
    } finally {
      await fh.close();
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

const ageMs = async (path: string) => Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? Date.now());

/**
 * Removes a lock whose holder died. Breaking is itself guarded by a short-lived `<path>.break` lock:
 * without it, two processes that both saw the dead holder could each remove a lock, the second one
 * removing the fresh lock the first just took.
 */
async function breakIfStale(
  path: string,
  seen: LockHolder | 'garbled',
  me: LockHolder,
  alive: (h: LockHolder) => boolean,
): Promise<void> {
  const breaker = `${path}.break`;
  if (!(await tryCreate(breaker, { ...me, command: 'break stale lock' }))) {
    const b = await readHolder(breaker);
    // A breaker dies between two awaits at worst: its file is garbled or empty only for a moment.
    const stale = b === 'missing' || b === 'garbled' ? (await ageMs(breaker)) > 5000 : !alive(b);
    if (stale) await rm(breaker, { force: true });
    return;
  }
  try {
    const again = await readHolder(path);
    const same =
      again === 'garbled' ||
      (typeof again === 'object' && typeof seen === 'object' && again.pid === seen.pid && again.since === seen.since);
    if (same && (again === 'garbled' || !alive(again))) await rm(path, { force: true });
  } finally {
    await rm(breaker, { force: true });
  }
}

/**
 * Takes the lock file at `path`: one holder at a time among the processes of this host. The file
 * records the holder's pid, command, time and process start time. A holder is alive only while its
 * pid runs with the recorded start time, so a lock left by a process that died (even by kill -9, or
 * whose pid was reused since) is cleared at once, with no staleness timeout. A live holder makes this
 * throw {@link LockBusyError} at once, or after `wait.timeout` when waiting.
 */
export async function acquireLock(path: string, options: AcquireLockOptions): Promise<Lock> {
  const { wait, identity } = options;
  const alive = (h: LockHolder) => isSameProcess(h.pid, h.startTime, identity);
  const deadline = wait ? Date.now() + (wait.timeout ?? Infinity) : 0;
  const holder: LockHolder = {
    pid: process.pid,
    command: options.command,
    since: new Date().toISOString(),
    startTime: processStartTime(process.pid, identity),
  };
  let told = false;
  for (;;) {
    wait?.signal?.throwIfAborted();
    if (await tryCreate(path, holder)) return { path, release: () => releaseLock(path, holder) };
    const current = await readHolder(path);
    if (current === 'missing') continue;
    if (current === 'garbled') {
      // A holder between creating the file and writing it, or one that died there: give it a moment.
      if ((await ageMs(path)) > 2000) await breakIfStale(path, 'garbled', holder, alive);
    } else if (!alive(current)) {
      await breakIfStale(path, current, holder, alive);
      continue;
    } else if (Date.now() >= deadline) {
      throw new LockBusyError(path, current);
    } else if (!told) {
      told = true;
      wait?.onBusy?.(current);
    }
    await sleep(wait?.pollInterval ?? 50, wait?.signal);
  }
}

async function releaseLock(path: string, holder: LockHolder): Promise<void> {
  const h = await readHolder(path);
  if (typeof h === 'object' && h.pid === holder.pid && h.since === holder.since) await rm(path, { force: true });
}
