import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bootFilesDir, readBootFiles } from './boot-files.js';

const work = mkdtempSync(join(tmpdir(), 'boot-files-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** An image with a `.boot` directory holding a kernel and, when given, boot.json. */
function image(name: string, bootJson?: string, initrd = false): string {
  const img = join(work, `${name}.qcow2`);
  const dir = bootFilesDir(img);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vmlinuz'), 'kernel');
  if (initrd) writeFileSync(join(dir, 'initrd.img'), 'initrd');
  if (bootJson !== undefined) writeFileSync(join(dir, 'boot.json'), bootJson);
  return img;
}

describe("an image's boot files (boot.json)", () => {
  it('are the kernel, the initrd when there is one, and the command line of a valid boot.json', () => {
    const img = image('valid', JSON.stringify({ append: 'root=/dev/vda1 ro' }), true);
    expect(readBootFiles(img)).toEqual({
      path: join(bootFilesDir(img), 'vmlinuz'),
      initrd: join(bootFilesDir(img), 'initrd.img'),
      append: 'root=/dev/vda1 ro',
    });
    expect(readBootFiles(image('no-initrd', JSON.stringify({ append: '' })))).toMatchObject({ append: '' });
  });

  it('are none without boot.json, or without the image having boot files at all', () => {
    expect(readBootFiles(image('missing'))).toBeUndefined();
    expect(readBootFiles(join(work, 'plain.qcow2'))).toBeUndefined();
  });

  it.each([
    ['torn', '{"append": "root=/dev/v'],
    ['null', 'null'],
    ['a command line of another type', JSON.stringify({ append: ['root=/dev/vda1'] })],
  ])('are none when boot.json is %s (the image boots through its boot loader)', (name, text) => {
    expect(readBootFiles(image(name, text))).toBeUndefined();
  });

  it('are none when boot.json cannot be read', () => {
    const img = image('unreadable');
    mkdirSync(join(bootFilesDir(img), 'boot.json')); // EISDIR, even for root
    expect(readBootFiles(img)).toBeUndefined();
  });
});
