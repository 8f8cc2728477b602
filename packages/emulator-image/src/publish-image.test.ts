import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publishImage, type PublishSteps } from './publish-image.js';

describe('publishImage', () => {
  it('removes an old checksum first, names the image durably, and writes the new checksum last', async () => {
    const calls: string[] = [];
    const steps: PublishSteps = {
      remove: async (p) => void calls.push(`remove ${p}`),
      syncDirectory: async (p) => void calls.push(`sync ${p}`),
      renameDurably: async (a, b) => void calls.push(`renameDurably ${a} -> ${b}`),
      writeFileAtomic: async (p, text) => void calls.push(`writeFileAtomic ${p} ${JSON.stringify(text)}`),
    };
    await publishImage('/c/.ref.qcow2.tmp-7', '/c/ref.qcow2', 'ab'.repeat(32), steps);
    expect(calls).toEqual([
      'remove /c/ref.qcow2.sha256',
      'sync /c',
      'renameDurably /c/.ref.qcow2.tmp-7 -> /c/ref.qcow2',
      `writeFileAtomic /c/ref.qcow2.sha256 "${'ab'.repeat(32)}  ref.qcow2\\n"`,
    ]);
  });

  it('on the real file system: the image under its name and its checksum beside it', async () => {
    const d = mkdtempSync(join(tmpdir(), 'publish-'));
    writeFileSync(join(d, 'img.tmp'), 'new image');
    writeFileSync(join(d, 'img.qcow2.sha256'), 'stale  img.qcow2\n');
    await publishImage(join(d, 'img.tmp'), join(d, 'img.qcow2'), 'c'.repeat(64));
    expect(readFileSync(join(d, 'img.qcow2'), 'utf8')).toBe('new image');
    expect(readFileSync(join(d, 'img.qcow2.sha256'), 'utf8')).toBe(`${'c'.repeat(64)}  img.qcow2\n`);
    expect(existsSync(join(d, 'img.tmp'))).toBe(false);
  });
});
