import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pruneCache } from './cache-prune.js';

describe('pruneCache', () => {
  it('keeps the newest entries of one name and removes the older ones with their sidecars', () => {
    const d = mkdtempSync(join(tmpdir(), 'prune-'));
    const made = (name: string, ageS: number) => {
      for (const p of [name, `${name}.sha256`, `${name}.log`]) {
        writeFileSync(join(d, p), 'x');
        utimesSync(join(d, p), new Date(Date.now() - ageS * 1000), new Date(Date.now() - ageS * 1000));
      }
      mkdirSync(join(d, `${name}.boot`));
      writeFileSync(join(d, `${name}.boot`, 'vmlinuz'), 'k');
    };
    made('reference-amd64-aaaaaaaaaaaaaaaa.qcow2', 300);
    made('reference-amd64-bbbbbbbbbbbbbbbb.qcow2', 200);
    made('reference-amd64-cccccccccccccccc.qcow2', 100);
    made('reference-arm64-dddddddddddddddd.qcow2', 900);
    writeFileSync(join(d, 'reference-amd64-eeeeeeeeeeeeeeee.qcow2.tmp-1'), 'a build in progress');
    const removed = pruneCache(d, /^reference-amd64-[0-9a-f]{16}\.qcow2$/);
    expect(removed).toEqual(['reference-amd64-aaaaaaaaaaaaaaaa.qcow2']);
    expect(readdirSync(d).sort()).toEqual([
      'reference-amd64-bbbbbbbbbbbbbbbb.qcow2',
      'reference-amd64-bbbbbbbbbbbbbbbb.qcow2.boot',
      'reference-amd64-bbbbbbbbbbbbbbbb.qcow2.log',
      'reference-amd64-bbbbbbbbbbbbbbbb.qcow2.sha256',
      'reference-amd64-cccccccccccccccc.qcow2',
      'reference-amd64-cccccccccccccccc.qcow2.boot',
      'reference-amd64-cccccccccccccccc.qcow2.log',
      'reference-amd64-cccccccccccccccc.qcow2.sha256',
      'reference-amd64-eeeeeeeeeeeeeeee.qcow2.tmp-1',
      'reference-arm64-dddddddddddddddd.qcow2',
      'reference-arm64-dddddddddddddddd.qcow2.boot',
      'reference-arm64-dddddddddddddddd.qcow2.log',
      'reference-arm64-dddddddddddddddd.qcow2.sha256',
    ]);
  });

  it('removes whole directories (base images) and tolerates a missing cache', () => {
    const d = mkdtempSync(join(tmpdir(), 'prune-'));
    for (const [k, age] of [
      ['1111111111111111', 30],
      ['2222222222222222', 20],
      ['3333333333333333', 10],
    ] as const) {
      mkdirSync(join(d, `debian-trixie-amd64-${k}`, 'rootfs'), { recursive: true });
      utimesSync(
        join(d, `debian-trixie-amd64-${k}`),
        new Date(Date.now() - age * 1000),
        new Date(Date.now() - age * 1000),
      );
    }
    expect(pruneCache(d, /^debian-trixie-amd64-[0-9a-f]{16}$/, 1)).toEqual([
      'debian-trixie-amd64-2222222222222222',
      'debian-trixie-amd64-1111111111111111',
    ]);
    expect(existsSync(join(d, 'debian-trixie-amd64-3333333333333333', 'rootfs'))).toBe(true);
    expect(pruneCache(join(d, 'missing'), /x/)).toEqual([]);
  });

  it('does not remove an entry with a mount under it: removes the others, then throws naming it', () => {
    const d = realpathSync(mkdtempSync(join(tmpdir(), 'prune-')));
    for (const [k, age] of [
      ['1111111111111111', 30],
      ['2222222222222222', 20],
      ['3333333333333333', 10],
    ] as const) {
      mkdirSync(join(d, `debian-trixie-amd64-${k}`, 'rootfs', 'proc'), { recursive: true });
      const t = new Date(Date.now() - age * 1000);
      utimesSync(join(d, `debian-trixie-amd64-${k}`), t, t);
    }
    const mounted = join(d, 'debian-trixie-amd64-1111111111111111', 'rootfs', 'proc');
    const table = [
      `44 24 0:55 / ${mounted} rw,relatime - proc proc rw`,
      `45 44 0:56 / ${mounted} rw,relatime - proc proc rw`,
      // A sibling with the same prefix is not under the entry.
      `46 24 0:57 / ${d}/debian-trixie-amd64-22222222222222220/proc rw - proc proc rw`,
    ].join('\n');
    expect(() => pruneCache(d, /^debian-trixie-amd64-[0-9a-f]{16}$/, 1, () => table)).toThrow(
      `not removing older cache entries with mounts under them: ${join(d, 'debian-trixie-amd64-1111111111111111')} (mounted: ${mounted}, ${mounted})`,
    );
    expect(readdirSync(d).sort()).toEqual([
      'debian-trixie-amd64-1111111111111111',
      'debian-trixie-amd64-3333333333333333',
    ]);
    expect(existsSync(mounted)).toBe(true);
  });
});
