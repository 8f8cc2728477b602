import { CodedError, errorGuard } from '@stack/internal';

export type SnapshotErrorCode =
  | 'SNAPSHOT_CORRUPT'
  | 'SNAPSHOT_NOT_FOUND'
  | 'SNAPSHOT_TOOL_FAILED'
  | 'SNAPSHOT_INVALID_KEY'
  | 'SNAPSHOT_SESSION_EXISTS'
  | 'SNAPSHOT_SESSION_UNREADABLE'
  | 'SNAPSHOT_CHAIN_TOO_DEEP'
  | 'SNAPSHOT_CHECKPOINT_EXISTS';

/** Base class of every error of this package; `code` is stable. */
export class SnapshotError extends CodedError<SnapshotErrorCode> {}

/** True for this package's errors, also from another copy of it (a brand, not `instanceof`). */
export const isSnapshotError = errorGuard(SnapshotError, '@stack/snapshot-cache');

/** A snapshot file failed its size or digest check; it must not be resumed. */
export class SnapshotCorruptError extends SnapshotError {
  readonly file: string;
  constructor(file: string, why: string) {
    super('SNAPSHOT_CORRUPT', `snapshot file ${file} is unusable: ${why}`);
    this.file = file;
  }
}
