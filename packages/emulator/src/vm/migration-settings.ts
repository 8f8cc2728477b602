import type { CompatibilityKey } from '@stack/snapshot-cache';
import type { MigrationSettings } from '../seams/vm.js';

/**
 * A limit high enough never to bind on a local file. QEMU caps a migration at 128 MiB/s by default
 * (`max-bandwidth`, meant for live migration over a shared network): saving a 290 MB session took
 * 1.9 s against 0.3 s without it (QEMU 10, TCG, mapped-ram, 4 channels).
 */
const UNLIMITED_BANDWIDTH = 100_000_000_000;

/**
 * Migration settings of each format; the same on both ends. mapped-ram's channels are threads doing
 * file I/O at fixed offsets: 4 beat 2 on a 2-core host (0.21 s against 0.27 s of migration), and the
 * file does not depend on the count. `x-ignore-shared` is always given, off too: a session resumed
 * from a template still has it on when it is saved at stop, and with it on the stream carries each
 * RAM block's address, which a loader without it misreads ("load of migration failed: Invalid
 * argument"; migration/ram.c, ram_save_setup). QEMU 4.0+ has it.
 */
export function migrationSettings(format: CompatibilityKey['format']): MigrationSettings {
  if (format === 'mapped-ram')
    return {
      caps: { 'mapped-ram': true, multifd: true, 'x-ignore-shared': false },
      params: { 'multifd-channels': 4, 'max-bandwidth': UNLIMITED_BANDWIDTH },
    };
  // The RAM file is the template: the stream carries the device state and the small RAM blocks that
  // are not file-backed (ROMs, video RAM).
  if (format === 'template-ram')
    return { caps: { 'x-ignore-shared': true }, params: { 'max-bandwidth': UNLIMITED_BANDWIDTH } };
  return { caps: { 'x-ignore-shared': false }, params: { 'max-bandwidth': UNLIMITED_BANDWIDTH } };
}
