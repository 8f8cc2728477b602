import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
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
});
