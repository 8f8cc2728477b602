import { z } from 'zod';
import type { CallOptions } from '@stack/internal';
import type { QmpClient } from './client.js';
import { QmpInvalidReplyError } from './errors.js';

async function typed<S extends z.ZodType>(
  qmp: QmpClient,
  schema: S,
  command: string,
  args: Record<string, unknown> | undefined,
  options: CallOptions,
): Promise<z.infer<S>> {
  const raw = await qmp.execute(command, args, options);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new QmpInvalidReplyError(command, { cause: parsed.error });
  return parsed.data;
}

// qapi/run-state.json StatusInfo; unknown states pass through as strings.
const statusSchema = z.object({ status: z.string(), running: z.boolean() });
export type VmStatus = z.infer<typeof statusSchema>;

/** `query-status`: the VM run state (`running`, `paused`, `inmigrate`, `postmigrate`, `prelaunch`, ...). */
export const queryStatus = (qmp: QmpClient, options: CallOptions = {}) =>
  typed(qmp, statusSchema, 'query-status', undefined, options);

const versionSchema = z.object({
  qemu: z.object({ major: z.number(), minor: z.number(), micro: z.number() }),
  package: z.string(),
});
export type QemuVersion = z.infer<typeof versionSchema>;

/** `query-version`. */
export const queryVersion = (qmp: QmpClient, options: CallOptions = {}) =>
  typed(qmp, versionSchema, 'query-version', undefined, options);

const empty = z.object({}).loose();
/** `stop`: pause the vCPUs. */
export const stop = (qmp: QmpClient, options: CallOptions = {}) =>
  typed(qmp, empty, 'stop', undefined, options).then(() => undefined);
/** `cont`: resume the vCPUs. */
export const cont = (qmp: QmpClient, options: CallOptions = {}) =>
  typed(qmp, empty, 'cont', undefined, options).then(() => undefined);
/** `system_powerdown`: ACPI power button; the guest decides whether and when to shut down. */
export const systemPowerdown = (qmp: QmpClient, options: CallOptions = {}) =>
  typed(qmp, empty, 'system_powerdown', undefined, options).then(() => undefined);

/**
 * `quit`: QEMU exits. QEMU sends SHUTDOWN and may close the socket before or right after the reply,
 * so a lost connection here counts as success.
 */
export async function quit(qmp: QmpClient, options: CallOptions = {}): Promise<void> {
  try {
    await qmp.execute('quit', undefined, options);
  } catch (e) {
    if ((e as { code?: string }).code !== 'QMP_DISCONNECTED') throw e;
  }
}

/**
 * `blockdev-snapshot-sync` in `existing` mode: the drive `device` writes to `snapshotFile` from now
 * on, a qcow2 made beforehand whose backing is the drive's current image, which QEMU keeps open
 * read-only as that backing (qapi/block-core.json). The caller names the backing in the new file's
 * header (a relative name, say); QEMU does not rewrite it in this mode.
 */
export const blockdevSnapshotSync = (qmp: QmpClient, device: string, snapshotFile: string, options: CallOptions = {}) =>
  typed(
    qmp,
    empty,
    'blockdev-snapshot-sync',
    { device, 'snapshot-file': snapshotFile, format: 'qcow2', mode: 'existing' },
    options,
  ).then(() => undefined);

/** `device_add` with the driver's properties, e.g. `{ driver: 'virtio-9p-pci', id, fsdev, mount_tag, bus }`. */
export const deviceAdd = (
  qmp: QmpClient,
  device: { driver: string; id: string } & Record<string, unknown>,
  options: CallOptions = {},
) => typed(qmp, empty, 'device_add', device, options).then(() => undefined);

/**
 * `device_del`, resolving once the guest released the device (DEVICE_DELETED), which may take a while
 * or never happen when the guest ignores the unplug request; bound it with `timeout`.
 */
export async function deviceDel(qmp: QmpClient, id: string, options: CallOptions = {}): Promise<void> {
  const deleted = qmp.waitForEvent({ names: ['DEVICE_DELETED'], filter: (e) => e.data.device === id }, options);
  try {
    await typed(qmp, empty, 'device_del', { id }, options);
  } catch (e) {
    deleted.catch(() => {});
    throw e;
  }
  await deleted;
}
