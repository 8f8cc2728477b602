import type { QemuVersion } from './qemu-version.js';

/** The `file:` migration transport arrived in QEMU 8.2 (Debian 12 ships 7.2, Ubuntu 22.04 6.2). */
export function supportsFileMigration(v: QemuVersion): boolean {
  return v.major > 8 || (v.major === 8 && v.minor >= 2);
}

/**
 * `migrate-incoming` takes `exit-on-error` from QEMU 9.1: with `false`, a stream QEMU cannot load
 * leaves it running with the reason in `query-migrate`'s `error-desc`, instead of QEMU exiting and the
 * monitor connection dropping (all a caller of an older QEMU learns is "connection lost").
 */
export function supportsIncomingExitOnError(v: QemuVersion): boolean {
  return v.major > 9 || (v.major === 9 && v.minor >= 1);
}

/** A path as one POSIX shell word. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The URI that saves a migration stream to `path` (`out`) or loads it (`in`). The stream's bytes are
 * the same whichever way they travel, so a snapshot saved one way resumes the other way. QEMU older
 * than 8.2 answers `file:` with "Parameter 'uri' expects a valid migration protocol": there the
 * stream goes through cat(1) (`exec:`, run by /bin/sh). `mapped-ram` needs `file:` (QEMU 9.0+).
 */
export function migrationUri(v: QemuVersion, direction: 'out' | 'in', path: string): string {
  if (supportsFileMigration(v)) return `file:${path}`;
  return direction === 'out' ? `exec:cat > ${shellQuote(path)}` : `exec:cat ${shellQuote(path)}`;
}
