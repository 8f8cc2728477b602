import { QemuArgvError } from './errors.js';

/** A QEMU release number. */
export interface QemuVersion {
  major: number;
  minor: number;
  micro: number;
}

/** Parses the first line of `qemu-system-* --version` ("QEMU emulator version 10.0.2 (Debian ...)"). */
export function parseQemuVersion(text: string): QemuVersion {
  const m = /QEMU emulator version (\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m)
    throw new QemuArgvError(
      'ARGV_BAD_VERSION',
      `cannot read a QEMU version from: ${text.split('\n')[0]?.slice(0, 120)}`,
    );
  return { major: Number(m[1]), minor: Number(m[2]), micro: Number(m[3] ?? 0) };
}

export function formatQemuVersion(v: QemuVersion): string {
  return `${v.major}.${v.minor}.${v.micro}`;
}

export function compareQemuVersions(a: QemuVersion, b: QemuVersion): number {
  return a.major - b.major || a.minor - b.minor || a.micro - b.micro;
}

/** The `mapped-ram` migration capability (parallel, seekable snapshot files) arrived in QEMU 9.0. */
export function supportsMappedRam(v: QemuVersion): boolean {
  return v.major >= 9;
}

/**
 * A private writable mapping of a file opened read-only (`memory-backend-file` with `readonly=on,rom=off`)
 * arrived in QEMU 8.2; before it, `readonly=on` made the guest's RAM a ROM.
 */
export function supportsReadOnlyPrivateRam(v: QemuVersion): boolean {
  return compareQemuVersions(v, { major: 8, minor: 2, micro: 0 }) >= 0;
}
