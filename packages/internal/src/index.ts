export { CodedError, errorGuard } from './coded-error.js';
export { withDeadline, sleep, type CallOptions, type DeadlineErrors } from './deadline.js';
export { connectUnixSocket, type Connector, type Transport } from './unix-socket.js';
export { LineDecoder, type LineItem } from './line-decoder.js';
export { sha256File } from './sha256-file.js';
export { tempPathFor, writeFileAtomic, type AtomicWriteOptions } from './atomic-write.js';
export { fsRenameOps, renameDurably, syncPath, type DurableRenameOps } from './durable-rename.js';
export {
  isProvenProcess,
  isSameProcess,
  processIdentity,
  processStartTime,
  type IdentityOptions,
  type ProcessIdentity,
} from './process-identity.js';
export { processMemory, type ProcessMemory } from './process-memory.js';
export { ARCHES, type Accel, type Arch } from './arch.js';
export { readSysctl } from './sysctl.js';
