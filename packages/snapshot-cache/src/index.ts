export { SnapshotCache, type Capture, type LookupResult, type SnapshotEntry, type SnapshotMeta } from './cache.js';
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
export { SessionStore, type SessionMeta, type SessionSizes } from './session-store.js';
export { ramMismatch, type SessionRam } from './session-ram.js';
export { SnapshotCorruptError, SnapshotError, isSnapshotError, type SnapshotErrorCode } from './errors.js';
export { runTool, type RunTool } from './run-tool.js';
