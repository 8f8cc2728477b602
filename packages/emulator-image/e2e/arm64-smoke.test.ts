import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIso } from '@stack/iso9660';
import { buildArgv } from '@stack/qemu-argv';
import { afterAll, describe, expect, it } from 'vitest';
import { cpioNewc } from '../../../tools/testing/cpio.js';
import { hasTools } from '../../../tools/testing/requires.js';
import { ensureBaseImage, UEFI_FIRMWARE } from '../src/index.js';
import { makeBootableDisk } from '../src/disk-image.js';

// arm64 smoke test: the arm64 kernel and systemd-boot, on a disk made by the same builder, booted
// through the qemu-argv arm64 path (virt, UEFI firmware) under TCG, far enough to run a marker init.
const ok = hasTools('qemu-system-aarch64', 'chroot', 'dpkg-deb', 'mkfs.vfat', 'mcopy', 'sfdisk');
const work = mkdtempSync(join(tmpdir(), 'arm64-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const MARK = 'STACK_ARM64_SMOKE_OK';

/** Downloads arm64 packages with the base image's apt, using private state (the cached tree keeps its own). */
function downloadArm64(rootfs: string, packages: string[], dest: string): void {
  const state = [
    '-o',
    'APT::Architecture=arm64',
    '-o',
    'APT::Architectures=arm64',
    '-o',
    'Dir::State::Lists=/var/lib/stack-arm64/lists',
    '-o',
    'Dir::Cache=/var/cache/stack-arm64',
    '-o',
    'Dir::State::status=/var/lib/stack-arm64/status',
  ];
  mkdirSync(join(rootfs, 'var/lib/stack-arm64/lists/partial'), { recursive: true });
  mkdirSync(join(rootfs, 'var/cache/stack-arm64/archives/partial'), { recursive: true });
  mkdirSync(join(rootfs, 'var/cache/stack-arm64/debs'), { recursive: true });
  writeFileSync(join(rootfs, 'var/lib/stack-arm64/status'), '');
  execFileSync('chroot', [rootfs, 'apt-get', '-q', ...state, 'update'], { stdio: 'ignore' });
  const deps = execFileSync('chroot', [rootfs, 'apt-cache', ...state, 'depends', 'linux-image-arm64'], {
    encoding: 'utf8',
  });
  const kernel = /Depends: (linux-image-\S+)/.exec(deps)![1]!;
  execFileSync(
    'chroot',
    [
      rootfs,
      'sh',
      '-c',
      `cd /var/cache/stack-arm64/debs && rm -f *.deb && apt-get -q ${state.join(' ')} download ${kernel} ${packages.join(' ')}`,
    ],
    { stdio: 'ignore' },
  );
  const debs = join(rootfs, 'var/cache/stack-arm64/debs');
  for (const d of readdirSync(debs)) execFileSync('dpkg-deb', ['-x', join(debs, d), dest]);
}

describe.skipIf(!ok)('arm64 smoke (TCG)', () => {
  it('boots the arm64 kernel through AAVMF and systemd-boot on a disk from the same builder', async () => {
    const base = await ensureBaseImage({ arch: 'amd64' });
    const tree = join(work, 'tree');
    mkdirSync(tree);
    downloadArm64(base.rootfs, ['systemd-boot-efi', 'busybox-static'], tree);
    const version = readdirSync(join(tree, 'boot'))
      .find((f) => f.startsWith('vmlinuz-'))!
      .slice('vmlinuz-'.length);
    const init = `#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\necho "${MARK} $(/bin/busybox uname -m)" > /dev/console\n/bin/busybox poweroff -f\n`;
    writeFileSync(
      join(tree, 'boot', `initrd.img-${version}`),
      cpioNewc([
        { path: 'bin', mode: 0o40755 },
        { path: 'proc', mode: 0o40755 },
        { path: 'dev', mode: 0o40755 },
        { path: 'bin/busybox', mode: 0o100755, data: readFileSync(join(tree, 'usr/bin/busybox')) },
        { path: 'init', mode: 0o100755, data: Buffer.from(init) },
      ]),
    );
    const disk = join(work, 'arm64.qcow2');
    mkdirSync(join(work, 'disk-work'));
    // Only the kernel, initrd and loader matter here: an empty root keeps the disk small.
    const root = join(work, 'root');
    mkdirSync(join(root, 'boot'), { recursive: true });
    mkdirSync(join(root, 'usr/lib/systemd/boot/efi'), { recursive: true });
    for (const f of [`vmlinuz-${version}`, `initrd.img-${version}`])
      execFileSync('cp', [join(tree, 'boot', f), join(root, 'boot', f)]);
    execFileSync('cp', [
      join(tree, 'usr/lib/systemd/boot/efi/systemd-bootaa64.efi'),
      join(root, 'usr/lib/systemd/boot/efi/'),
    ]);
    await makeBootableDisk(root, disk, { arch: 'arm64', work: join(work, 'disk-work'), log: join(work, 'disk.log') });
    writeFileSync(
      join(work, 'config.iso'),
      await buildIso([{ type: 'file', path: 'runtime.env', data: '' }], { volumeId: 'STACKCFG' }),
    );
    const firmware = UEFI_FIRMWARE.arm64.find((f) => existsSync(f));
    expect(firmware, 'arm64 UEFI firmware (qemu-efi-aarch64)').toBeDefined();
    const serial = join(work, 'serial.log');
    const { binary, argv } = buildArgv({
      arch: 'arm64',
      accel: 'tcg',
      memoryMiB: 1024,
      cpus: 2,
      layout: 'cold',
      firmware,
      drives: { system: disk, config: join(work, 'config.iso') },
      qmpSocket: join(work, 'qmp.sock'),
      agentSocket: join(work, 'qga.sock'),
      serialLog: serial,
    });
    expect(binary).toBe('qemu-system-aarch64');
    const qemu = spawn(binary, [...argv, '-no-reboot'], { stdio: 'ignore' });
    const exited = await new Promise<number | null>((resolve) => {
      const guard = setTimeout(() => qemu.kill('SIGKILL'), 900_000); // a hang guard, not a speed check
      qemu.on('exit', (code) => {
        clearTimeout(guard);
        resolve(code);
      });
    });
    const console = readFileSync(serial, 'utf8');
    expect(console, console.slice(-2000)).toContain(`${MARK} aarch64`);
    expect(exited).toBe(0);
  });
});
