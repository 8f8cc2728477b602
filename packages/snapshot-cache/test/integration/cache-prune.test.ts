import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../../tools/testing/requires.js';
import { type CompatibilityKey, SnapshotCache } from '../../src/index.js';
import { runNode } from './child-node.js';

const ok = hasTools('zstd');
const work = mkdtempSync(join(tmpdir(), 'cache-prune-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const dist = new URL('../../dist/index.js', import.meta.url).href;
const key: CompatibilityKey = {
  imageDigest: 'a'.repeat(64),
  qemuVersion: '10.0.2',
  accel: 'tcg',
  layoutFingerprint: 'f'.repeat(64),
  configDisk: {},
  format: 'mapped-ram',
};
const SIZE = 2 << 20;
const ROUNDS = 8;

/** Waits until the number in `file` exceeds `than` (the reader resumed the entry at least once more). */
async function waitFor(file: string, than: number): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const n = existsSync(file) ? Number(readFileSync(file, 'utf8') || 0) : 0;
    if (n > than) return n;
    if (Date.now() > deadline) throw new Error(`the reader resumed nothing for 60 s (${n})`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.skipIf(!ok)('pruning under a concurrent reader', () => {
  it('a reader in another process finds whole entries or none, never half of one', async () => {
    const root = join(work, 'cache');
    const hits = join(work, 'hits');
    const stop = join(work, 'stop');
    const cache = new SnapshotCache(root);
    const capture = async (fill: number) => {
      const cap = await cache.beginCapture(key);
      writeFileSync(cap.statePath, Buffer.alloc(SIZE, fill));
      return cap.commit();
    };
    // The reader does what a start does, without pause: lookup, prepare the state for QEMU, read it.
    const reader = runNode(`import { SnapshotCache } from ${JSON.stringify(dist)};
      import { existsSync, readFileSync, writeFileSync } from 'node:fs';
      const cache = new SnapshotCache(${JSON.stringify(root)});
      const n = { hit: 0, miss: 0, gone: 0 };
      while (!existsSync(${JSON.stringify(stop)})) {
        const found = await cache.lookup(${JSON.stringify(key)});
        if (!found.hit) { n.miss++; await new Promise((r) => setTimeout(r, 1)); continue; }
        try {
          const raw = await cache.prepareResume(found.entry);
          const bytes = readFileSync(raw);
          if (bytes.length !== ${SIZE} || bytes.some((b) => b !== bytes[0])) throw new Error('a torn state file');
          writeFileSync(${JSON.stringify(hits)}, String(++n.hit));
        } catch (e) {
          // Removed (or replaced) after the lookup; or after prepareResume, before QEMU opened the file.
          if (e.code === 'SNAPSHOT_NOT_FOUND' || e.code === 'ENOENT') { n.gone++; continue; }
          console.error(e); process.exit(1);
        }
      }
      console.log(JSON.stringify(n));`);
    let seen = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await capture(round + 1);
      seen = await waitFor(hits, seen);
      // Pruned while the reader keeps finding and resuming it: by quarantine then removal, or directly.
      const [item] = (await cache.inventory()).filter((i) => i.state === 'ready');
      if (round % 2 === 0 && item?.entry) await cache.quarantine(item.entry, 'pruning test');
      for (const i of await cache.inventory()) await cache.remove(i);
    }
    writeFileSync(stop, '');
    const r = await reader;
    expect(r.code).toBe(0);
    const n = JSON.parse(r.stdout) as { hit: number; miss: number; gone: number };
    expect(n.hit).toBeGreaterThanOrEqual(ROUNDS);
    expect(await cache.inventory()).toEqual([]);
    expect(await cache.sweep()).toEqual([]);
  });
});
