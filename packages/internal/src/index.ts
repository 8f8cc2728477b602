export { CodedError, errorGuard } from './coded-error.js';
export { allDone } from './all-done.js';
export { withDeadline, sleep, type CallOptions, type DeadlineErrors } from './deadline.js';
export { connectUnixSocket, type Connector, type Transport } from './unix-socket.js';
export { LineDecoder, type LineItem } from './line-decoder.js';
export { sha256File } from './sha256-file.js';
export { tempPathFor, writeFileAtomic, type AtomicWriteOptions } from './atomic-write.js';
export { fsyncDirectory, fsyncFile, syncPath } from './fsync.js';
export { fsRenameOps, renameDurably, type DurableRenameOps } from './durable-rename.js';
export {
  isProvenProcess,
  isSameProcess,
  processIdentity,
  processStartTime,
  type IdentityOptions,
  type ProcessIdentity,
} from './process-identity.js';
export {
  acquireLock,
  isLockBusyError,
  LockBusyError,
  type AcquireLockOptions,
  type Lock,
  type LockHolder,
  type LockWait,
} from './lock.js';
export {
  isProcessError,
  ProcessError,
  runProcess,
  runProcessSync,
  type ProcessErrorCode,
  type ProcessResult,
  type RunProcess,
  type RunProcessOptions,
  type RunProcessSyncOptions,
} from './run-process.js';
export { processMemory, type ProcessMemory } from './process-memory.js';
export { ARCHES, type Accel, type Arch } from './arch.js';
export { readSysctl } from './sysctl.js';
export {
  describeIssues,
  readJsonFile,
  readJsonFileSync,
  type JsonFile,
  type JsonIssue,
  type JsonSchema,
} from './read-json-file.js';
