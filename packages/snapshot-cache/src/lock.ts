import { open, readFile, rm, stat } from 'node:fs/promises';
import { LockBusyError } from './errors.js';
import { isSameProcess, processStartTime } from '@stack/internal';

export interface LockHolder {
  pid: number;
  command: string;
  since: string;
  /** Process start time (see process-identity.ts), so a reused pid is not taken for the holder. */
  startTime?: string;
}

export interface Lock {
  path: string;
  release(): Promise<void>;
}

const alive = (h: LockHolder) => isSameProcess(h.pid, h.startTime);

async function readHolder(path: string): Promise<LockHolder | 'missing' | 'garbled'> {
  try {
    const h = JSON.parse(await readFile(path, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' ? h : 'garbled';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'garbled';
  }
}

async function tryCreate(path: string, holder: LockHolder): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', 0o600);
    await fh.writeFile(JSON.stringify(holder));
    await fh.close();
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/**
 * Removes a lock whose holder died. Breaking is itself guarded by a short-lived `<path>.break` lock:
 * without it, two processes that both saw the dead holder could each remove a lock, the second one
 * removing the fresh lock the first just took.
 */
async function breakIfStale(path: string, seen: LockHolder | 'garbled'): Promise<void> {
  const breaker = `${path}.break`;
  const me: LockHolder = {
    pid: process.pid,
    command: 'break stale lock',
    since: new Date().toISOString(),
    startTime: processStartTime(process.pid),
  };
  if (!(await tryCreate(breaker, me))) {
    const b = await readHolder(breaker);
    const age = Date.now() - ((await stat(breaker).catch(() => undefined))?.mtimeMs ?? Date.now());
    if (b === 'missing' || b === 'garbled' ? age > 5000 : !alive(b)) await rm(breaker, { force: true });
    return;
  }
  try {
    const again = await readHolder(path);
    const same =
      again === 'garbled' ||
      (typeof again === 'object' && typeof seen === 'object' && again.pid === seen.pid && again.since === seen.since);
    if (same && (again === 'garbled' || !alive(again as LockHolder))) await rm(path, { force: true });
  } finally {
    await rm(breaker, { force: true });
  }
}

/**
 * Takes the lock at `path` (one start/stop/capture at a time per home). A lock left by a dead process
 * is cleared; a live holder makes this wait up to `timeout` ms, then throw {@link LockBusyError}.
 */
export async function acquireLock(
  path: string,
  options: { command: string; timeout?: number; signal?: AbortSignal; pollInterval?: number },
): Promise<Lock> {
  const deadline = Date.now() + (options.timeout ?? 0);
  const holder: LockHolder = {
    pid: process.pid,
    command: options.command,
    since: new Date().toISOString(),
    startTime: processStartTime(process.pid),
  };
  for (;;) {
    options.signal?.throwIfAborted();
    if (await tryCreate(path, holder)) {
      return {
        path,
        release: async () => {
          const h = await readHolder(path);
          if (typeof h === 'object' && h.pid === holder.pid && h.since === holder.since)
            await rm(path, { force: true });
        },
      };
    }
    const current = await readHolder(path);
    if (current === 'missing') continue;
    if (current === 'garbled') {
      // A holder that died between creating and writing the file: give a live writer a moment.
      const age = Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? Date.now());
      if (age > 2000) await breakIfStale(path, 'garbled');
    } else if (!alive(current)) {
      await breakIfStale(path, current);
      continue;
    } else if (Date.now() >= deadline) {
      throw new LockBusyError(path, current);
    }
    await new Promise((r) => setTimeout(r, options.pollInterval ?? 50));
  }
}
