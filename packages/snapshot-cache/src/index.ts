export { SnapshotCache, type LookupResult, type SnapshotCacheOptions } from './cache.js';
export type { CacheItem } from './cache-inventory.js';
export type { Capture } from './capture.js';
export type { SnapshotEntry, SnapshotMeta } from './snapshot-meta.js';
export {
  compatibilityKeySchema,
  describeDifferences,
  diffKeys,
  keyId,
  parseKey,
  type CompatibilityKey,
  type KeyDifference,
} from './key.js';
// The instance lock is @stack/internal's; re-exported for the callers that took it from here.
export { acquireLock, LockBusyError, type Lock, type LockHolder } from '@stack/internal';
export { backingNameOf, createOverlay, rebaseOverlay, type OverlayOptions } from './overlay.js';
export { linkOrCopy } from './link-or-copy.js';
export { SessionStore, type SessionSizes, type SessionStoreOptions } from './session-store.js';
export type { SessionMeta } from './session-meta.js';
export type { RamLease } from './ram-lease.js';
export { ramMismatch, recordRam, type SessionRam } from './session-ram.js';
export { cloneSparse } from './clone-sparse.js';
export type { Fsync } from './fsync.js';
export { SnapshotCorruptError, SnapshotError, isSnapshotError, type SnapshotErrorCode } from './errors.js';
export { runTool, type RunTool } from './run-tool.js';
export { CheckpointStore, isCheckpointName, type CheckpointEntry } from './checkpoint-store.js';
export type { CheckpointMeta, CheckpointSession } from './checkpoint-meta.js';
export { checkpointSession, linkSessionInto } from './session-checkpoint.js';
export { MAX_LAYERS, type PreparedLayer } from './session-layers.js';
