export { SnapshotCache, type Capture, type LookupResult, type SnapshotEntry, type SnapshotMeta } from './cache.js';
export { compatibilityKeySchema, describeDifferences, diffKeys, keyId, type CompatibilityKey, type KeyDifference } from './key.js';
export { acquireLock, type Lock, type LockHolder } from './lock.js';
export { isProvenProcess, isSameProcess, processIdentity, processStartTime, type IdentityOptions, type ProcessIdentity } from './process-identity.js';
export { createOverlay } from './overlay.js';
export { tempPathFor, writeFileAtomic, type AtomicWriteOptions } from './atomic-write.js';
export { LockBusyError, SnapshotCorruptError, SnapshotError, isSnapshotError, type SnapshotErrorCode } from './errors.js';
export { runTool, type RunTool } from './run-tool.js';
