import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../../tools/testing/requires.js';
import { bootFilesDir, extractBootFiles, readBootFiles } from '../../src/boot-files.js';

// Real disks made with the tools the image build uses (sfdisk, mkfs.vfat, mtools, qemu-img), read back
// through qemu-img dd and mtools as the build does.
const ok = hasTools('qemu-img', 'mkfs.vfat', 'mcopy', 'mtype', 'sfdisk');
const work = mkdtempSync(join(tmpdir(), 'bootfiles-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const sh = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, { input, stdio: ['pipe', 'ignore', 'pipe'] });

/** A qcow2 disk: a Linux partition first, then a 32 MiB ESP holding `files` (ESP path -> content). */
function disk(name: string, files: Record<string, Buffer | string>): string {
  const esp = join(work, `${name}.esp`);
  sh('mkfs.vfat', ['-C', esp, String(32 * 1024)]);
  for (const dir of ['::/loader', '::/loader/entries']) sh('mmd', ['-i', esp, dir]);
  for (const [path, data] of Object.entries(files)) {
    writeFileSync(join(work, 'f'), data);
    sh('mcopy', ['-i', esp, join(work, 'f'), `::${path}`]);
  }
  const raw = join(work, `${name}.raw`);
  sh('truncate', ['-s', '50M', raw]);
  sh(
    'sfdisk',
    ['-q', raw],
    'label: gpt\nstart=2048, size=8192, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\nstart=10240, size=65536, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n',
  );
  sh('dd', [`if=${esp}`, `of=${raw}`, 'bs=1M', 'seek=5', 'conv=notrunc', 'status=none']);
  const qcow2 = join(work, `${name}.qcow2`);
  sh('qemu-img', ['convert', '-c', '-O', 'qcow2', raw, qcow2]);
  return qcow2;
}

describe.skipIf(!ok)('extractBootFiles', () => {
  it("copies the default entry's kernel and initrd out of the ESP, with its command line", async () => {
    const kernel = randomBytes(300_000);
    const initrd = randomBytes(700_000);
    const image = disk('good', {
      '/loader/loader.conf': 'timeout 0\ndefault stack.conf\n',
      '/loader/entries/aaa.conf': 'linux /wrong\noptions wrong\n',
      '/loader/entries/stack.conf':
        'title T\nlinux /vmlinuz\ninitrd /initrd.img\noptions root=PARTUUID=x ro console=ttyS0,115200\n',
      '/vmlinuz': kernel,
      '/initrd.img': initrd,
      '/wrong': 'x',
    });
    const boot = await extractBootFiles(image, bootFilesDir(image), { log: join(work, 'log'), work });
    expect(boot.append).toBe('root=PARTUUID=x ro console=ttyS0,115200');
    expect(readFileSync(boot.path).equals(kernel)).toBe(true);
    expect(readFileSync(boot.initrd!).equals(initrd)).toBe(true);
    expect(readBootFiles(image)).toEqual(boot);
    expect(existsSync(join(work, 'esp.raw'))).toBe(false);
  });

  it('takes the first entry by name when loader.conf names none, and works without an initrd', async () => {
    const image = disk('nodefault', {
      '/loader/entries/b.conf': 'linux /b\noptions b\n',
      '/loader/entries/a.conf': 'linux /a\noptions a\n',
      '/a': 'A',
      '/b': 'B',
    });
    const boot = await extractBootFiles(image, bootFilesDir(image), { log: join(work, 'log'), work });
    expect([boot.append, readFileSync(boot.path, 'utf8'), boot.initrd]).toEqual(['a', 'A', undefined]);
  });

  it('says why for an image it cannot direct-boot, and writes nothing', async () => {
    const grub = disk('grub', { '/grubx64.efi': 'x' });
    await expect(extractBootFiles(grub, bootFilesDir(grub), { log: join(work, 'log'), work })).rejects.toThrow(
      /no systemd-boot loader entry/,
    );
    const blank = join(work, 'blank.qcow2');
    sh('qemu-img', ['create', '-f', 'qcow2', blank, '10M']);
    await expect(extractBootFiles(blank, bootFilesDir(blank), { log: join(work, 'log'), work })).rejects.toThrow(
      /no GPT with an EFI system partition/,
    );
    expect(existsSync(bootFilesDir(grub)) || existsSync(bootFilesDir(blank))).toBe(false);
    expect(readBootFiles(grub)).toBeUndefined();
  });
});
