import { formatQemuVersion, type QemuVersion } from '@stack/qemu-argv';
import {
  blockdevSnapshotSync,
  cont,
  deviceAdd,
  migrate,
  migrateCancel,
  migrateIncoming,
  type QmpClient,
  QmpCommandError,
  queryStatus,
  quit,
  setMigrationCapabilities,
  setMigrationParameters,
  stop,
  systemPowerdown,
} from '@stack/qmp-protocol';
import { shareDevice } from '@stack/qemu-argv';
import { EmulatorError } from '../errors.js';
import type { MigrationSettings, SeamCall, VmControl } from '../seams/vm.js';

/** Limits of the monitor calls that should answer at once (a paused or dying QEMU must not hang a stop). */
const QUICK_MS = 5000;
/** A save or load of a few GiB; its own progress keeps it going, this only bounds a stuck one. */
const MIGRATION_MS = 600_000;

const quick = (o: SeamCall = {}) => ({ timeout: o.timeout ?? QUICK_MS, ...(o.signal ? { signal: o.signal } : {}) });

async function applySettings(qmp: QmpClient, settings: MigrationSettings, o: SeamCall): Promise<void> {
  if (Object.keys(settings.caps).length > 0) await setMigrationCapabilities(qmp, settings.caps, quick(o));
  if (Object.keys(settings.params).length > 0) await setMigrationParameters(qmp, settings.params, quick(o));
}

/** {@link VmControl} over a QMP connection to a QEMU of `version`. */
export function qmpControl(qmp: QmpClient, version: QemuVersion | undefined): VmControl {
  return {
    status: async (o) => {
      const s = await queryStatus(qmp, quick(o));
      return { running: s.running, status: s.status };
    },
    loadState: async (uri, settings, o) => {
      await applySettings(qmp, settings, o);
      await migrateIncoming(qmp, uri, {
        timeout: o.timeout ?? MIGRATION_MS,
        ...(o.signal ? { signal: o.signal } : {}),
        pollInterval: 10,
        ...(o.exitOnError !== undefined ? { exitOnError: o.exitOnError } : {}),
      });
    },
    cont: async (o) => void (await cont(qmp, quick(o))),
    saveState: async (uri, settings, o) => {
      await stop(qmp, quick(o));
      try {
        try {
          await applySettings(qmp, settings, o);
          await migrate(qmp, uri, {
            timeout: o.timeout ?? MIGRATION_MS,
            ...(o.signal ? { signal: o.signal } : {}),
            pollInterval: 10,
          });
        } catch (e) {
          // QEMU refusing the capabilities or the URI is this host's QEMU, not the guest.
          if (e instanceof QmpCommandError && /^migrate(-set-capabilities|-set-parameters)?$/.test(e.command)) {
            throw new EmulatorError(
              'SNAPSHOT_UNSUPPORTED',
              `QEMU ${version ? formatQemuVersion(version) : ''} cannot save a ${o.format} snapshot: ${e.message}`,
              { cause: e },
            );
          }
          throw e;
        }
      } catch (e) {
        // A migration that timed out or was interrupted may still be running: cancel it before the
        // guest runs again, or it would go on writing a file nobody keeps (and block the next save).
        await migrateCancel(qmp, { timeout: QUICK_MS }).catch(() => {});
        await cont(qmp, { timeout: QUICK_MS }).catch(() => {});
        throw e;
      }
    },
    pause: async (o) => void (await stop(qmp, quick(o))),
    snapshotDisk: async (device, file, o) => void (await blockdevSnapshotSync(qmp, device, file, quick(o))),
    plugShare: async (slot, o) => {
      await deviceAdd(qmp, shareDevice(slot), quick(o)).catch((e: Error) => {
        throw new EmulatorError('HOST_SHARE_FAILED', `hot-plugging the share of slot ${slot} failed: ${e.message}`, {
          cause: e,
        });
      });
    },
    quit: (o) => quit(qmp, quick(o)),
    powerdown: async (o) => void (await systemPowerdown(qmp, quick(o))),
    close: () => qmp.close(),
  };
}
