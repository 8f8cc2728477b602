import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SnapshotCache } from './cache.js';
import { readFailureCount } from './failure-count.js';
import type { SnapshotEntry } from './snapshot-meta.js';

const work = mkdtempSync(join(tmpdir(), 'failure-count-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function snapshotDir(name: string, failures?: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  if (failures !== undefined) writeFileSync(join(dir, 'failures.json'), failures);
  return dir;
}

describe("a snapshot's failures in a row (failures.json)", () => {
  it('are read from a valid file, and none from a missing one', async () => {
    expect(await readFailureCount(join(snapshotDir('missing'), 'failures.json'))).toBe(0);
    const dir = snapshotDir('valid', JSON.stringify({ count: 2, last: 'timeout', at: 'now' }));
    expect(await readFailureCount(join(dir, 'failures.json'))).toBe(2);
  });

  it.each([
    ['torn', '{"count": 2, "la'],
    ['null', 'null'],
    ['a count of another type', JSON.stringify({ count: '2' })],
    ['a negative count', JSON.stringify({ count: -3 })],
  ])('count as none when the file is %s', async (name, text) => {
    expect(await readFailureCount(join(snapshotDir(name, text), 'failures.json'))).toBe(0);
  });

  it('count as none when the file cannot be read', async () => {
    const dir = snapshotDir('unreadable');
    mkdirSync(join(dir, 'failures.json')); // EISDIR, even for root
    expect(await readFailureCount(join(dir, 'failures.json'))).toBe(0);
  });

  // Regression: failures.json was cast; `null` made recordFailure throw a TypeError.
  it('are counted again from one by recordFailure after a wrong-shaped file', async () => {
    const dir = snapshotDir('record', 'null');
    const cache = new SnapshotCache(work);
    expect(await cache.recordFailure({ dir } as SnapshotEntry, 'timed out')).toBe(1);
    expect(await cache.recordFailure({ dir } as SnapshotEntry, 'timed out')).toBe(2);
    expect(JSON.parse(readFileSync(join(dir, 'failures.json'), 'utf8'))).toMatchObject({ count: 2, last: 'timed out' });
  });
});
