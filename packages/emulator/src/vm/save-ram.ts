import { formatQemuVersion, migrationUri, type QemuVersion } from '@stack/qemu-argv';
import {
  cont,
  migrate,
  type QmpClient,
  QmpCommandError,
  setMigrationCapabilities,
  setMigrationParameters,
  stop,
} from '@stack/qmp-protocol';
import { EmulatorError } from '../errors.js';
import { migrationSettings } from '../boot/boot-context.js';
import type { SnapshotFormat } from '../host/snapshot-support.js';

/**
 * Pauses the guest and saves its RAM and device state to `path` in `format` (a capture, or a session
 * at stop). On failure the guest runs on (`cont`), so the caller can still stop it cleanly. QEMU
 * refusing the capabilities or the URI is this host's QEMU, not the guest: SNAPSHOT_UNSUPPORTED, which
 * the caller remembers so the next start does not pay for it again.
 */
export async function saveRam(
  qmp: QmpClient,
  options: { path: string; format: SnapshotFormat; version: QemuVersion; signal?: AbortSignal },
): Promise<void> {
  const { caps, params } = migrationSettings(options.format);
  await stop(qmp, { signal: options.signal });
  try {
    try {
      if (Object.keys(caps).length > 0) await setMigrationCapabilities(qmp, caps, { signal: options.signal });
      if (Object.keys(params).length > 0) await setMigrationParameters(qmp, params, { signal: options.signal });
      await migrate(qmp, migrationUri(options.version, 'out', options.path), {
        timeout: 600_000,
        signal: options.signal,
        pollInterval: 10,
      });
    } catch (e) {
      if (e instanceof QmpCommandError && /^migrate(-set-capabilities|-set-parameters)?$/.test(e.command)) {
        throw new EmulatorError(
          'SNAPSHOT_UNSUPPORTED',
          `QEMU ${formatQemuVersion(options.version)} cannot save a ${options.format} snapshot: ${e.message}`,
          { cause: e },
        );
      }
      throw e;
    }
  } catch (e) {
    await cont(qmp).catch(() => {});
    throw e;
  }
}
