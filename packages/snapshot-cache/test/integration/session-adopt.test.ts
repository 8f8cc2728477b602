import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../../tools/testing/requires.js';
import { backingNameOf, createOverlay, SessionStore } from '../../src/index.js';
import { isAlive, killWhen } from './child-node.js';
import { image, reads, sha256 } from './qcow2-fixtures.js';

const ok = hasTools('qemu-img', 'qemu-io');
const work = mkdtempSync(join(tmpdir(), 'session-adopt-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const dist = new URL('../../dist/index.js', import.meta.url).href;
const meta = { origin: 'adopted' as const, image: { digest: 'b'.repeat(64), choice: 'reference' } };

/** A `qemu-img` first on PATH that touches `mark` and hangs on `rebase`, and is the real one otherwise. */
function stallingQemuImg(dir: string, mark: string): NodeJS.ProcessEnv {
  const real = execFileSync('sh', ['-c', 'command -v qemu-img'], { encoding: 'utf8' }).trim();
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'qemu-img'),
    `#!/bin/sh\nif [ "$1" = rebase ]; then : > '${mark}'; exec sleep 120; fi\nexec '${real}' "$@"\n`,
  );
  chmodSync(join(bin, 'qemu-img'), 0o755);
  return { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
}

describe.skipIf(!ok)('adopting a disk, crash-safe', () => {
  it('a command killed while adopting leaves the disk where it was, byte for byte, and adoptable again', async () => {
    const dir = join(work, 'killed');
    mkdirSync(join(dir, 'run', 'vm'), { recursive: true });
    const img = image(join(dir, 'img.qcow2'), 0x11);
    const left = join(dir, 'run', 'vm', 'disk.qcow2'); // an earlier tool's overlay: the user's only copy
    await createOverlay(img, left);
    execFileSync('qemu-io', ['-c', 'write -P 0x66 1M 64k', left], { stdio: 'ignore' });
    const before = sha256(left);
    const session = join(dir, 'session');
    const mark = join(dir, 'in-rebase');
    const script = `import { SessionStore } from ${JSON.stringify(dist)};
      await new SessionStore(${JSON.stringify(session)}).adopt(${JSON.stringify({ image: img, disk: left, meta })});
      console.log('adopted');`;
    const r = await killWhen(script, mark, stallingQemuImg(dir, mark));
    expect(r.signal).toBe('SIGKILL');

    // The next start: sweep what the killed command left, then adopt again.
    const s = new SessionStore(session);
    await s.sweep(isAlive);
    expect(readdirSync(dir).filter((n) => n.startsWith('.session.'))).toEqual([]);
    expect(existsSync(left)).toBe(true);
    expect(sha256(left)).toBe(before);
    expect(await backingNameOf(left)).toBe(img);
    expect(await s.read()).toBeUndefined();
    await s.adopt({ image: img, disk: left, meta });
    expect(reads(s.disk, 0x66, 1 << 20)).toBe(true);
    expect(reads(s.disk, 0x11)).toBe(true);
    expect(existsSync(left)).toBe(false);
  });
});
