import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../../tools/testing/requires.js';
import { runInGuest } from '../../../../tools/testing/test-guest.js';
import { entriesFromDirectory, writeIso } from '../../src/index.js';
import { makeTree, snapshot, type TreeSnapshot } from '../fixtures.js';

// The host kernel here has no iso9660 driver, so the Linux kernel reads our images inside a guest.
const ok = hasTools('qemu-system-x86_64', 'apt-get', 'dpkg-deb');
const work = mkdtempSync(join(tmpdir(), 'iso-kernel-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Prints D|path|mode, L|path|target, F|path|size|mode and "sha256  path" lines. Batched through
 * xargs: a process per file costs tens of milliseconds under TCG, too slow for 1600 files.
 */
const DUMP = (dev: string, opts: string) => `
mkdir -p /mnt/${dev} && mount -t iso9660 -o ro${opts} /dev/${dev} /mnt/${dev} || exit 1
cd /mnt/${dev}
find . -mindepth 1 -type d -print0 | xargs -0 -r stat -c 'D|%n|%a'
find . -mindepth 1 -type l -print0 | xargs -0 -r -n 1 sh -c 'echo "L|$0|$(readlink "$0")"'
find . -mindepth 1 -type f -print0 | xargs -0 -r stat -c 'F|%n|%s|%a'
find . -mindepth 1 -type f -print0 | xargs -0 -r sha256sum
echo "== ${dev} done"
cd /
`;

function parseDump(text: string, modes: boolean): TreeSnapshot {
  const out: TreeSnapshot = {};
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64}) {2}\.(\/.*)$/.exec(line);
    if (m) sums.set(m[2]!, m[1]!);
  }
  for (const line of text.split('\n').filter((l) => /^[LDF]\|/.test(l))) {
    const [t, p, a, b] = line.split('|');
    const path = p!.slice(1);
    if (t === 'L') out[path] = { type: 'symlink', target: a };
    else if (t === 'D') out[path] = { type: 'directory', ...(modes ? { mode: parseInt(a!, 8) } : {}) };
    else
      out[path] = { type: 'file', size: Number(a), sha: sums.get(path), ...(modes ? { mode: parseInt(b!, 8) } : {}) };
  }
  return out;
}

describe.skipIf(!ok)('the Linux kernel mounts our images (isofs in a TCG guest)', () => {
  it('shows the same names, bytes and (with Rock Ridge) modes and symlinks', async () => {
    const variants = [
      { dev: 'vda', joliet: true, rockRidge: false, opts: ',utf8' },
      { dev: 'vdb', joliet: true, rockRidge: true, opts: '' },
      { dev: 'vdc', joliet: false, rockRidge: true, opts: '' },
    ];
    const expected: TreeSnapshot[] = [];
    const images: string[] = [];
    for (const v of variants) {
      const src = join(work, `src-${v.dev}`);
      makeTree(src, { symlinks: v.rockRidge, longNames: v.rockRidge });
      expected.push(snapshot(src, { modes: v.rockRidge }));
      const image = join(work, `${v.dev}.iso`);
      await writeIso(await entriesFromDirectory(src), image, {
        volumeId: 'cidata',
        joliet: v.joliet,
        rockRidge: v.rockRidge,
      });
      images.push(image);
    }
    // Joliet names are decoded with the `utf8` option (UTF-16 to UTF-8, so characters outside the
    // BMP survive); Rock Ridge names are bytes.
    const run = await runInGuest({
      disks: images,
      modules: ['isofs'],
      script: variants.map((v) => DUMP(v.dev, v.opts)).join('\n'),
    });
    expect(run.exitCode).toBe(0);
    const sections = run.output.split(/== vd. done\n/);
    for (const [i, v] of variants.entries()) {
      expect(parseDump(sections[i]!, v.rockRidge), `${v.dev} (joliet ${v.joliet}, rock ridge ${v.rockRidge})`).toEqual(
        expected[i],
      );
    }
  });
});
