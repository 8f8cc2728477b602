import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A file the base image's build writes into the root file system tree. */
export interface RootfsFile {
  /** Relative to the root. */
  path: string;
  text: string;
  /** @default 0o644 */
  mode?: number;
}

export function writeRootfsFile(rootfs: string, f: RootfsFile): void {
  mkdirSync(join(rootfs, f.path, '..'), { recursive: true });
  writeFileSync(join(rootfs, f.path), f.text, { mode: f.mode ?? 0o644 });
}

/** `systemctl enable` of a unit in /etc/systemd/system, by hand: no systemd runs in the build chroot. */
export function enableUnit(rootfs: string, unit: string, target: string): void {
  const wants = join(rootfs, 'etc/systemd/system', `${target}.wants`);
  mkdirSync(wants, { recursive: true });
  rmSync(join(wants, unit), { force: true });
  symlinkSync(`/etc/systemd/system/${unit}`, join(wants, unit));
}

/** A /dev/null link at `path` (relative to the root): masks a unit or a generator. */
export function maskPath(rootfs: string, path: string): void {
  mkdirSync(join(rootfs, path, '..'), { recursive: true });
  rmSync(join(rootfs, path), { force: true });
  symlinkSync('/dev/null', join(rootfs, path));
}
