import { z } from 'zod';
import { type CallOptions, sleep, withDeadline } from '@stack/internal';
import type { QmpClient } from './client.js';
import { QmpAbortError, QmpCommandError, QmpInvalidReplyError, QmpTimeoutError } from './errors.js';

const migrateInfoSchema = z
  .object({
    status: z.string().optional(),
    'error-desc': z.string().optional(),
    ram: z.object({ transferred: z.number(), total: z.number(), remaining: z.number() }).loose().optional(),
    'total-time': z.number().optional(),
  })
  .loose();
export type MigrationInfo = z.infer<typeof migrateInfoSchema>;

/** Progress reported while a migration runs. */
export interface MigrationProgress {
  status: string;
  transferredBytes: number;
  totalBytes: number;
  remainingBytes: number;
}

/** Options of {@link migrate} and {@link migrateIncoming}. */
export interface MigrateOptions extends CallOptions {
  /** Called on each poll while the migration runs. */
  onProgress?: (progress: MigrationProgress) => void;
  /** Milliseconds between `query-migrate` polls; MIGRATION events also wake the wait. @default 100 */
  pollInterval?: number;
}

/** Options of {@link migrateIncoming}. */
export interface MigrateIncomingOptions extends MigrateOptions {
  /**
   * QEMU's `exit-on-error` (QEMU 9.1+; leave unset for older ones, which refuse the argument). With
   * `false` a stream QEMU cannot load rejects with QEMU's reason and QEMU keeps running; otherwise
   * QEMU exits and the wait rejects with the lost connection.
   * @default unset (QEMU's default: exit)
   */
  exitOnError?: boolean;
}

/** `query-migrate`. */
export async function queryMigrate(qmp: QmpClient, options: CallOptions = {}): Promise<MigrationInfo> {
  const raw = await qmp.execute('query-migrate', undefined, options);
  const parsed = migrateInfoSchema.safeParse(raw);
  if (!parsed.success) throw new QmpInvalidReplyError('query-migrate', { cause: parsed.error });
  return parsed.data;
}

/** `migrate-set-capabilities`, e.g. `{ 'mapped-ram': true, multifd: true }`. */
export async function setMigrationCapabilities(
  qmp: QmpClient,
  caps: Record<string, boolean>,
  options: CallOptions = {},
): Promise<void> {
  const capabilities = Object.entries(caps).map(([capability, state]) => ({ capability, state }));
  await qmp.execute('migrate-set-capabilities', { capabilities }, options);
}

/** `migrate-set-parameters`, e.g. `{ 'multifd-channels': 4 }`. */
export async function setMigrationParameters(
  qmp: QmpClient,
  params: Record<string, unknown>,
  options: CallOptions = {},
): Promise<void> {
  await qmp.execute('migrate-set-parameters', params, options);
}

/** The capability names this QEMU knows (`query-migrate-capabilities`). */
export async function queryMigrationCapabilities(
  qmp: QmpClient,
  options: CallOptions = {},
): Promise<Record<string, boolean>> {
  const raw = (await qmp.execute('query-migrate-capabilities', undefined, options)) as Array<{
    capability: string;
    state: boolean;
  }>;
  return Object.fromEntries(raw.map((c) => [c.capability, c.state]));
}

const done = new Set(['completed']);
const failed = new Set(['failed', 'cancelled']);

async function waitForMigration(qmp: QmpClient, what: string, options: MigrateOptions): Promise<MigrationInfo> {
  const interval = options.pollInterval ?? 100;
  return withDeadline(
    options,
    { timeout: (ms) => new QmpTimeoutError(what, ms), abort: (r) => new QmpAbortError(what, r) },
    async (signal) => {
      const events = qmp.listen({ names: ['MIGRATION'] });
      try {
        for (;;) {
          const info = await queryMigrate(qmp, { signal });
          const status = info.status ?? 'none';
          if (done.has(status)) return info;
          if (failed.has(status))
            throw new QmpCommandError(what, 'MigrationFailed', info['error-desc'] ?? `migration ${status}`);
          options.onProgress?.({
            status,
            transferredBytes: info.ram?.transferred ?? 0,
            totalBytes: info.ram?.total ?? 0,
            remainingBytes: info.ram?.remaining ?? 0,
          });
          // Wake on the next MIGRATION event or after the poll interval, whichever is first.
          const wake = new AbortController();
          const onAbort = () => wake.abort();
          signal.addEventListener('abort', onAbort, { once: true });
          await Promise.race([events.next(), sleep(interval, wake.signal).catch(() => {})]);
          signal.removeEventListener('abort', onAbort);
          wake.abort();
        }
      } finally {
        events.end();
      }
    },
  );
}

/**
 * Starts an outgoing migration to `uri` (for a snapshot: `file:/path`) and resolves when it completed.
 * QEMU pauses the guest at the end; a second migrate of the same paused VM is refused by QEMU.
 */
export async function migrate(qmp: QmpClient, uri: string, options: MigrateOptions = {}): Promise<MigrationInfo> {
  await qmp.execute('migrate', { uri }, options);
  return waitForMigration(qmp, `migrate to ${uri}`, options);
}

/**
 * Loads an incoming migration from `uri` into a QEMU started with `-incoming defer`, resolving once
 * the state is loaded (the VM is then paused unless `-S` was absent and autostart applies).
 */
export async function migrateIncoming(
  qmp: QmpClient,
  uri: string,
  options: MigrateIncomingOptions = {},
): Promise<MigrationInfo> {
  await qmp.execute(
    'migrate-incoming',
    { uri, ...(options.exitOnError === undefined ? {} : { 'exit-on-error': options.exitOnError }) },
    options,
  );
  return waitForMigration(qmp, `migrate-incoming from ${uri}`, options);
}

/**
 * `migrate_cancel`: ends an outgoing migration in progress (the guest stays paused if it was; `cont`
 * runs it again). Harmless when none runs.
 */
export async function migrateCancel(qmp: QmpClient, options: CallOptions = {}): Promise<void> {
  await qmp.execute('migrate_cancel', undefined, options);
}
