import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLock, isLockBusyError, LockBusyError, type LockHolder } from './lock.js';
import { processStartTime } from './process-identity.js';

const lockPath = () => join(mkdtempSync(join(tmpdir(), 'lock-')), 'lock');
const holderIn = (path: string): LockHolder => JSON.parse(readFileSync(path, 'utf8'));

describe('acquireLock', () => {
  it('records the holder, names it to a second taker, and releases', async () => {
    const path = lockPath();
    const lock = await acquireLock(path, { command: 'start' });
    expect(holderIn(path)).toMatchObject({
      pid: process.pid,
      command: 'start',
      startTime: processStartTime(process.pid),
    });
    const err = await acquireLock(path, { command: 'stop' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockBusyError);
    expect(isLockBusyError(err) && err.code).toBe('LOCK_BUSY');
    expect((err as LockBusyError).holder).toMatchObject({ pid: process.pid, command: 'start' });
    expect((err as Error).message).toContain(`${path} is held by pid ${process.pid} (start, since `);
    await lock.release();
    expect(existsSync(path)).toBe(false);
    await lock.release();
  });

  it('treats a holder with the same pid but another start time as dead (a reused pid), at once', async () => {
    const path = lockPath();
    const since = '2026-01-01T00:00:00.000Z';
    writeFileSync(path, JSON.stringify({ pid: process.pid, command: 'start', since, startTime: 'another start' }));
    const lock = await acquireLock(path, { command: 'next' });
    expect(holderIn(path)).toMatchObject({ command: 'next' });
    await lock.release();
  });

  it('clears a lock file that is not a holder record once it is 2 s old', async () => {
    const path = lockPath();
    writeFileSync(path, '{"pid":');
    const started = Date.now();
    const lock = await acquireLock(path, { command: 'next' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    await lock.release();
  });

  it('waits for the holder to let go, telling once who it waits for', async () => {
    const path = lockPath();
    const first = await acquireLock(path, { command: 'build' });
    const busy: LockHolder[] = [];
    setTimeout(() => void first.release(), 300);
    const started = Date.now();
    const second = await acquireLock(path, {
      command: 'build 2',
      wait: { timeout: 10_000, onBusy: (h) => busy.push(h) },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(busy).toEqual([expect.objectContaining({ command: 'build' })]);
    expect(holderIn(path)).toMatchObject({ command: 'build 2' });
    await second.release();
  });

  it('gives up after the wait timeout with LockBusyError naming the holder', async () => {
    const path = lockPath();
    const first = await acquireLock(path, { command: 'build' });
    const started = Date.now();
    const err = await acquireLock(path, { command: 'build 2', wait: { timeout: 300 } }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(err).toBeInstanceOf(LockBusyError);
    expect((err as LockBusyError).holder.command).toBe('build');
    await first.release();
  });

  it('stops waiting when the signal aborts, with its reason', async () => {
    const path = lockPath();
    const first = await acquireLock(path, { command: 'build' });
    const reason = new Error('user gave up');
    const err = await acquireLock(path, { command: 'build 2', wait: { signal: AbortSignal.timeout(200) } }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).name).toBe('TimeoutError');
    const controller = new AbortController();
    controller.abort(reason);
    await expect(acquireLock(path, { command: 'x', wait: { signal: controller.signal } })).rejects.toBe(reason);
    await first.release();
  });

  it('release leaves alone a lock another holder took since', async () => {
    const path = lockPath();
    const lock = await acquireLock(path, { command: 'a' });
    writeFileSync(path, JSON.stringify({ pid: process.pid, command: 'b', since: 'later' }));
    await lock.release();
    expect(holderIn(path).command).toBe('b');
  });
});
