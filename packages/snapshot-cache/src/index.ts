export { SnapshotCache, type Capture, type LookupResult, type SnapshotEntry, type SnapshotMeta } from './cache.js';
export { compatibilityKeySchema, describeDifferences, diffKeys, keyId, type CompatibilityKey, type KeyDifference } from './key.js';
export { acquireLock, processStartTime, type Lock, type LockHolder } from './lock.js';
export { createOverlay } from './overlay.js';
export { tempPathFor, writeFileAtomic, type AtomicWriteOptions } from './atomic-write.js';
export { LockBusyError, SnapshotCorruptError, SnapshotError, isSnapshotError, type SnapshotErrorCode } from './errors.js';
export { runTool, type RunTool } from './run-tool.js';
