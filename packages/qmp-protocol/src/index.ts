export { QmpClient, type QmpConnectOptions } from './client.js';
export { EventListener, type EventFilter } from './event-listener.js';
export {
  QmpError,
  QmpConnectError,
  QmpCommandError,
  QmpProtocolError,
  QmpDisconnectedError,
  QmpTimeoutError,
  QmpAbortError,
  QmpInvalidReplyError,
  isQmpError,
  type QmpErrorCode,
} from './errors.js';
export {
  blockdevSnapshotSync,
  cont,
  deviceAdd,
  deviceDel,
  queryStatus,
  queryVersion,
  quit,
  stop,
  systemPowerdown,
  type QemuVersion,
  type VmStatus,
} from './commands.js';
export {
  migrate,
  migrateCancel,
  migrateIncoming,
  queryMigrate,
  queryMigrationCapabilities,
  setMigrationCapabilities,
  setMigrationParameters,
  type MigrateIncomingOptions,
  type MigrateOptions,
  type MigrationInfo,
  type MigrationProgress,
} from './migration.js';
export { MessageDecoder, encodeCommand, type QmpEvent, type QmpGreeting, type QmpMessage } from './message.js';
// Option and transport types of the client's signatures (their code lives in @stack/internal).
export type { CallOptions, Connector, Transport } from '@stack/internal';
export type { ProtocolTrace } from './trace.js';
