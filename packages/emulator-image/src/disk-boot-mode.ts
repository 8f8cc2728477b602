import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProcessError, runProcess } from '@stack/internal';

/** How a disk image boots: legacy BIOS boot code in its MBR (SeaBIOS), or UEFI only (OVMF). */
export type DiskBootMode = 'bios' | 'uefi';

/**
 * Sans-I/O: the boot mode from a disk's first sector. A BIOS-bootable disk (GRUB's i386-pc install,
 * Debian's cloud images, the original pipeline's Stack image) has boot code in the first 440 bytes and
 * the 0x55AA signature; a UEFI-only one (our appliances' systemd-boot, a protective MBR) has zeros there.
 */
export function bootModeFromMbr(sector0: Uint8Array): DiskBootMode {
  if (sector0.length < 512 || sector0[510] !== 0x55 || sector0[511] !== 0xaa) return 'uefi';
  return sector0.subarray(0, 440).some((b) => b !== 0) ? 'bios' : 'uefi';
}

/** Reads the first sector of a disk image (any format qemu-img reads) and tells its boot mode. */
export async function diskBootMode(image: string, options: { signal?: AbortSignal } = {}): Promise<DiskBootMode> {
  const work = mkdtempSync(join(tmpdir(), 'boot-mode-'));
  const out = join(work, 'mbr.raw');
  try {
    await runProcess('qemu-img', ['dd', '-O', 'raw', 'bs=512', 'count=1', `if=${image}`, `of=${out}`], {
      signal: options.signal,
      timeout: 30_000,
    }).catch((e: unknown) => {
      if (!isProcessError(e)) throw e;
      const why = e.stderrTail || (e.cause instanceof Error ? e.cause.message : e.message);
      throw new Error(`qemu-img dd of ${image} failed: ${why}`, { cause: e });
    });
    return bootModeFromMbr(readFileSync(out));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
