import { rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { renameDurably, syncPath, writeFileAtomic } from '@stack/internal';

/** The file-system steps of {@link publishImage}; tests inject a recorder. */
export interface PublishSteps {
  remove(path: string): Promise<void>;
  syncDirectory(path: string): Promise<void>;
  /** fsync, rename, fsync of the new directory (`renameDurably` of @stack/internal). */
  renameDurably(from: string, to: string): Promise<void>;
  /** Temp file, fsync, rename, fsync of the directory (`writeFileAtomic` of @stack/internal). */
  writeFileAtomic(path: string, text: string): Promise<void>;
}

const fsSteps: PublishSteps = {
  remove: (path) => rm(path, { force: true }),
  syncDirectory: syncPath,
  renameDurably: (from, to) => renameDurably(from, to),
  writeFileAtomic: (path, text) => writeFileAtomic(path, text),
};

/** The checksum file of an image: `<sha256>  <file name>`, as sha256sum writes it. */
function checksumLine(output: string, digest: string): string {
  return `${digest}  ${basename(output)}\n`;
}

/**
 * Names a finished image: the compressed qcow2 `tmpImage` (written by qemu-img) becomes `output`,
 * then `<output>.sha256` is written. The checksum file says the image is complete (the appliance
 * cache takes an image that has one as built), so an old one is removed first and the new one comes
 * last, each step on the disk before the next: after a power cut at any point, a checksum file only
 * ever sits beside a whole image. (The image's boot files are named durably before, by
 * extractBootFiles.)
 */
export async function publishImage(
  tmpImage: string,
  output: string,
  digest: string,
  steps: PublishSteps = fsSteps,
): Promise<void> {
  const sums = `${output}.sha256`;
  await steps.remove(sums);
  await steps.syncDirectory(dirname(sums));
  await steps.renameDurably(tmpImage, output);
  await steps.writeFileAtomic(sums, checksumLine(output, digest));
}
