import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock, LockBusyError } from '../../src/index.js';

// The children run the built package, as another command of the same user would.
const dist = new URL('../../dist/index.js', import.meta.url).href;
const work = mkdtempSync(join(tmpdir(), 'internal-lock-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Starts `node -e script` (an ES module); resolves with the child once it printed `ready`, if asked. */
function startNode(script: string) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  const printed = (word: string) =>
    new Promise<void>((resolve, reject) => {
      const look = () => stdout.includes(word) && resolve();
      child.stdout.on('data', look);
      void exited.then((r) => reject(new Error(`child exited (${r.code}) before "${word}": ${r.stderr}`)));
    });
  return { child, exited, printed };
}

describe('acquireLock across processes', () => {
  it('lets only one of several racing processes in at a time', async () => {
    const lock = join(work, 'race.lock');
    const log = join(work, 'race.log');
    writeFileSync(log, '');
    const script = `import { acquireLock } from ${JSON.stringify(dist)};
      import { appendFileSync } from 'node:fs';
      const l = await acquireLock(${JSON.stringify(lock)}, { command: 'race', wait: { timeout: 60000, pollInterval: 5 } });
      appendFileSync(${JSON.stringify(log)}, 'enter ' + process.pid + '\\n');
      await new Promise((r) => setTimeout(r, 100));
      appendFileSync(${JSON.stringify(log)}, 'leave ' + process.pid + '\\n');
      await l.release();`;
    const results = await Promise.all(Array.from({ length: 4 }, () => startNode(script).exited));
    expect(results.map((r) => [r.code, r.stderr])).toEqual(Array.from({ length: 4 }, () => [0, '']));
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(8);
    for (let i = 0; i < lines.length; i += 2) {
      expect(lines[i]!.startsWith('enter')).toBe(true);
      expect(lines[i + 1]).toBe(lines[i]!.replace('enter', 'leave'));
    }
    expect(existsSync(lock)).toBe(false);
  });

  it('names a live holder in another process, and clears its lock at once after kill -9', async () => {
    const lock = join(work, 'killed.lock');
    const holder = startNode(`import { acquireLock } from ${JSON.stringify(dist)};
      await acquireLock(${JSON.stringify(lock)}, { command: 'held by a child' });
      console.log('ready');
      setInterval(() => {}, 1000);`);
    await holder.printed('ready');
    const err = await acquireLock(lock, { command: 'test' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockBusyError);
    expect((err as LockBusyError).holder).toMatchObject({ pid: holder.child.pid, command: 'held by a child' });

    holder.child.kill('SIGKILL');
    expect((await holder.exited).signal).toBe('SIGKILL');
    expect(existsSync(lock)).toBe(true);
    const started = Date.now();
    const l = await acquireLock(lock, { command: 'after the kill' });
    expect(Date.now() - started).toBeLessThan(1000);
    await l.release();
  });

  it('clears a lock left by a process that exited without releasing it', async () => {
    const lock = join(work, 'dead.lock');
    const dead = await startNode(`import { acquireLock } from ${JSON.stringify(dist)};
      await acquireLock(${JSON.stringify(lock)}, { command: 'forgot to release' });`).exited;
    expect(dead.code).toBe(0);
    expect(JSON.parse(readFileSync(lock, 'utf8')).command).toBe('forgot to release');
    const l = await acquireLock(lock, { command: 'next' });
    await l.release();
  });
});
