import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARM64_FIRMWARE_CANDIDATES } from '@stack/qemu-argv';
import { ROOT_PARTUUID } from './rootfs-config.js';
import { kernelCommandLine } from './kernel-cmdline.js';
import { type BuildSeams, realBuildSeams } from './build-seams.js';
import type { Arch } from '@stack/internal';

const MiB = 1024 * 1024;
const ESP_MIB = 256;
export const ROOT_GIB = 12;
const ESP_PARTUUID = '6e1e9c52-6c2b-4d4b-9a9e-3b1d0c0a5e00';

/**
 * Makes a UEFI-bootable GPT disk from a root filesystem tree, with no loop device and no mount:
 * the ESP is a FAT image filled with mtools (systemd-boot, kernel, initrd), the root an ext4 image
 * filled by `mkfs.ext4 -d`, both copied into a sparse disk file partitioned by sfdisk.
 */
export async function makeBootableDisk(
  rootfs: string,
  out: string,
  options: { arch: Arch; work: string; log: string },
  seams: Pick<BuildSeams, 'run'> = realBuildSeams,
): Promise<void> {
  const { arch, work, log } = options;
  const boot = join(rootfs, 'boot');
  const kernel = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  const initrd = readdirSync(boot).find((f) => f.startsWith('initrd.img-'));
  if (!kernel || !initrd) throw new Error(`no kernel or initrd in ${boot}`);
  const efiName = arch === 'amd64' ? 'BOOTX64.EFI' : 'BOOTAA64.EFI';
  const loader = join(
    rootfs,
    'usr/lib/systemd/boot/efi',
    arch === 'amd64' ? 'systemd-bootx64.efi' : 'systemd-bootaa64.efi',
  );
  const esp = join(work, 'esp.img');
  const root = join(work, 'root.img');
  const disk = join(work, 'disk.raw');
  writeFileSync(join(work, 'loader.conf'), 'timeout 0\ndefault stack.conf\neditor no\n');
  writeFileSync(
    join(work, 'stack.conf'),
    `title Stack emulator\nlinux /vmlinuz\ninitrd /initrd.img\noptions ${kernelCommandLine(arch)}\n`,
  );
  rmSync(esp, { force: true });
  await seams.run('mkfs.vfat', ['-C', '-F', '32', '-n', 'ESP', '-i', '5354414b', esp, String(ESP_MIB * 1024)], { log });
  await seams.run('mmd', ['-i', esp, '::/EFI', '::/EFI/BOOT', '::/loader', '::/loader/entries'], { log });
  await seams.run('mcopy', ['-i', esp, loader, `::/EFI/BOOT/${efiName}`], { log });
  await seams.run('mcopy', ['-i', esp, join(work, 'loader.conf'), '::/loader/loader.conf'], { log });
  await seams.run('mcopy', ['-i', esp, join(work, 'stack.conf'), '::/loader/entries/stack.conf'], { log });
  await seams.run('mcopy', ['-i', esp, join(boot, kernel), '::/vmlinuz'], { log });
  await seams.run('mcopy', ['-i', esp, join(boot, initrd), '::/initrd.img'], { log });
  rmSync(root, { force: true });
  await seams.run(
    'mkfs.ext4',
    ['-q', '-F', '-L', 'stackroot', '-E', 'lazy_itable_init=1,lazy_journal_init=1', '-d', rootfs, root, `${ROOT_GIB}G`],
    { log },
  );
  const total = (1 + ESP_MIB + ROOT_GIB * 1024 + 1) * MiB;
  rmSync(disk, { force: true });
  await seams.run('truncate', ['-s', String(total), disk], { log });
  const table = [
    'label: gpt',
    `start=2048, size=${ESP_MIB * 2048}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=${ESP_PARTUUID}, name=ESP`,
    `start=${2048 + ESP_MIB * 2048}, size=${ROOT_GIB * 1024 * 2048}, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=${ROOT_PARTUUID}, name=root`,
  ].join('\n');
  await seams.run('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', disk], { log, input: `${table}\n` });
  await seams.run('dd', [`if=${esp}`, `of=${disk}`, 'bs=1M', 'seek=1', 'conv=notrunc,sparse', 'status=none'], { log });
  await seams.run(
    'dd',
    [`if=${root}`, `of=${disk}`, 'bs=1M', `seek=${1 + ESP_MIB}`, 'conv=notrunc,sparse', 'status=none'],
    {
      log,
    },
  );
  rmSync(esp, { force: true });
  rmSync(root, { force: true });
  await seams.run('qemu-img', ['convert', '-q', '-O', 'qcow2', disk, out], { log });
  rmSync(disk, { force: true });
}

/**
 * UEFI firmware for booting the disk with `-bios`: OVMF for amd64 (the combined image: QEMU's firmware
 * descriptors name code-only files meant for a pflash pair), and for arm64 see qemu-argv
 * findArm64Firmware (descriptors first); these lists are the places packages put them.
 */
export const UEFI_FIRMWARE: Record<Arch, readonly string[]> = {
  amd64: [
    '/usr/share/ovmf/OVMF.fd',
    '/usr/share/qemu/OVMF.fd',
    '/opt/homebrew/share/qemu/edk2-x86_64-code.fd',
    '/usr/local/share/qemu/edk2-x86_64-code.fd',
    '/opt/local/share/qemu/edk2-x86_64-code.fd',
  ],
  arm64: ARM64_FIRMWARE_CANDIDATES,
};
