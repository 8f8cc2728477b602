import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readJsonFileSync, renameDurably } from '@stack/internal';
import { z } from 'zod';
import { join } from 'node:path';
import { defaultEntryName, findEspInGpt, GPT_HEAD_BYTES, parseLoaderEntry } from './esp-layout.js';
import { BuildError } from './errors.js';
import { run } from './run.js';

/**
 * The kernel, initrd and command line an image's boot loader would start: for direct kernel boot.
 * Shaped as `kernel` of `@stack/qemu-argv`'s spec.
 */
export interface BootFiles {
  /** The kernel image. */
  path: string;
  initrd?: string;
  /** The kernel command line of the image's loader entry. */
  append: string;
}

/** Where the boot files of an image live: a directory beside it. */
export function bootFilesDir(image: string): string {
  return `${image}.boot`;
}

/** The boot files recorded beside an image, or undefined when there are none (or they are incomplete). */
export function readBootFiles(image: string): BootFiles | undefined {
  return filesIn(bootFilesDir(image));
}

/** `<image>.boot/boot.json`: the kernel command line of the image's boot loader entry. */
const bootJsonSchema = z.object({ append: z.string() }).loose();

/**
 * The boot files in `dir`. A boot.json that is missing, not valid or unreadable means none: the image
 * then boots through its firmware and boot loader, as an image without boot files does: slower, but a
 * kernel booted with a guessed command line might not come up at all.
 */
function filesIn(dir: string): BootFiles | undefined {
  const r = (() => {
    try {
      return readJsonFileSync(join(dir, 'boot.json'), bootJsonSchema);
    } catch (e) {
      // A read that failed (EACCES, EISDIR): none. Anything else is a bug, not the file's.
      if ((e as NodeJS.ErrnoException).code === undefined) throw e;
      return undefined;
    }
  })();
  const path = join(dir, 'vmlinuz');
  const initrd = join(dir, 'initrd.img');
  if (r?.kind !== 'ok' || !existsSync(path)) return undefined;
  const { append } = r.value;
  return existsSync(initrd) ? { path, initrd, append } : { path, append };
}

/** `/vmlinuz` of a loader entry as an mtools path; a BLS path uses `/`, the UEFI shell `\`. */
const espPath = (p: string) => `::/${p.replace(/\\/g, '/').replace(/^\/+/, '')}`;

/**
 * Copies out of an image the kernel and initrd its systemd-boot entry names, with the entry's command
 * line, into `dest` (normally `bootFilesDir(image)`; written to a temp directory, synced and renamed). Reads the image through
 * `qemu-img dd` and the ESP with mtools: no mount, no loop device. Fails with a clear message for an
 * image without a GPT, an ESP or a loader entry (a GRUB image, say): boot such an image with firmware.
 */
export async function extractBootFiles(
  image: string,
  dest: string,
  options: { log: string; work: string },
): Promise<BootFiles> {
  const { log, work } = options;
  const fail = (why: string) =>
    new BuildError('IMAGE_BUILD_FAILED', `cannot take the boot files out of ${image}: ${why}`);
  const head = join(work, 'gpt-head.raw');
  await run('qemu-img', ['dd', '-O', 'raw', `bs=${GPT_HEAD_BYTES}`, 'count=1', `if=${image}`, `of=${head}`], { log });
  const esp = findEspInGpt(readFileSync(head));
  rmSync(head, { force: true });
  if (!esp) throw fail('it has no GPT with an EFI system partition');
  const espImage = join(work, 'esp.raw');
  // qemu-img dd counts in blocks of bs: 1 MiB when the partition is aligned so (as partitioners do), else sectors.
  const bs = esp.offset % (1 << 20) === 0 && esp.size % (1 << 20) === 0 ? 1 << 20 : 512;
  await run(
    'qemu-img',
    [
      'dd',
      '-O',
      'raw',
      `bs=${bs}`,
      `skip=${esp.offset / bs}`,
      `count=${esp.size / bs}`,
      `if=${image}`,
      `of=${espImage}`,
    ],
    { log },
  );
  try {
    const read = (p: string) => run('mtype', ['-i', espImage, espPath(p)], { log }).catch(() => undefined);
    const loaderConf = (await read('/loader/loader.conf')) ?? '';
    let name = defaultEntryName(loaderConf);
    if (!name) {
      const listing = await run('mdir', ['-b', '-i', espImage, '::/loader/entries'], { log }).catch(() => '');
      name = listing
        .split('\n')
        .map((l) => l.trim().split('/').pop()!)
        .filter((n) => n.endsWith('.conf'))
        .sort()[0];
    }
    const entryText = name ? await read(`/loader/entries/${name}`) : undefined;
    const entry = entryText === undefined ? undefined : parseLoaderEntry(entryText);
    if (!entry) throw fail('its ESP has no systemd-boot loader entry with a `linux` line');
    const tmp = `${dest}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await run('mcopy', ['-n', '-i', espImage, espPath(entry.linux), join(tmp, 'vmlinuz')], { log });
    if (entry.initrd)
      await run('mcopy', ['-n', '-i', espImage, espPath(entry.initrd), join(tmp, 'initrd.img')], { log });
    writeFileSync(join(tmp, 'boot.json'), `${JSON.stringify({ append: entry.options }, null, 2)}\n`);
    rmSync(dest, { recursive: true, force: true });
    // Synced before it is named: after a power cut, boot files that are there are whole (a torn kernel
    // would be booted, not rebuilt; missing ones are taken out of the image again).
    await renameDurably(tmp, dest);
    return filesIn(dest)!;
  } finally {
    rmSync(espImage, { force: true });
  }
}
