import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withBuildLock } from './build-lock.js';

describe('withBuildLock', () => {
  it('runs builders of one artifact one after the other; the second finds it built (regression: concurrent base builds)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    const target = join(dir, 'base');
    const events: string[] = [];
    let waited = false;
    const build = (name: string) =>
      withBuildLock(
        target,
        async () => {
          if (existsSync(target)) {
            events.push(`${name}: cached`);
            return;
          }
          events.push(`${name}: start`);
          await new Promise((r) => setTimeout(r, 300));
          writeFileSync(target, 'built');
          events.push(`${name}: done`);
        },
        { onWait: () => (waited = true) },
      );
    await Promise.all([build('a'), new Promise((r) => setTimeout(r, 50)).then(() => build('b'))]);
    expect(events).toEqual(['a: start', 'a: done', 'b: cached']);
    expect(waited).toBe(true);
    expect(existsSync(`${target}.lock`)).toBe(false);
  });

  it('releases the lock when the build fails', async () => {
    const target = join(mkdtempSync(join(tmpdir(), 'lock-')), 'x');
    await expect(withBuildLock(target, async () => Promise.reject(new Error('broken build')))).rejects.toThrow(
      'broken build',
    );
    expect(await withBuildLock(target, async () => 'again')).toBe('again');
  });

  it('takes over at once from a builder killed with kill -9 (regression: proper-lockfile waited 30 s for staleness)', async () => {
    const target = join(mkdtempSync(join(tmpdir(), 'lock-')), 'base');
    // The holder runs the built module, as another build process would.
    const dist = new URL('../dist/build-lock.js', import.meta.url).href;
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { withBuildLock } from ${JSON.stringify(dist)};
        await withBuildLock(${JSON.stringify(target)}, () => { console.log('ready'); return new Promise(() => {}); });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => holder.on('close', resolve));
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      void exited.then(() => reject(new Error('the holder exited before taking the lock')));
    });
    holder.kill('SIGKILL');
    await exited;
    const started = Date.now();
    expect(await withBuildLock(target, async () => 'built', { waitMs: 5000 })).toBe('built');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('removes a stale lock directory left by proper-lockfile, the lock used before (regression: builds blocked)', async () => {
    const target = join(mkdtempSync(join(tmpdir(), 'lock-')), 'base');
    mkdirSync(`${target}.lock`);
    const aMinuteAgo = new Date(Date.now() - 60_000);
    utimesSync(`${target}.lock`, aMinuteAgo, aMinuteAgo);
    expect(await withBuildLock(target, async () => 'built', { waitMs: 5000 })).toBe('built');
    expect(existsSync(`${target}.lock`)).toBe(false);
  });
});
