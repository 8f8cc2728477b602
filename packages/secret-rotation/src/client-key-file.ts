import { writeFileAtomic } from '@stack/internal';

/**
 * Publishes the publishable client key for the CLI (`<run>/vm/internal-pck`): the key alone, without a
 * newline, as the original's guest wrote it (scripts read it whole); created with mode 0600
 * (never wider for an instant, as a chmod after writing would be), then renamed into place. Not
 * fsynced: it is rewritten at every start and worthless after a crash (its VM is gone), and on macOS
 * an fsync is F_FULLFSYNC, a flush of the whole disk cache, on the resume path.
 */
export async function writeClientKeyFile(path: string, key: string): Promise<void> {
  await writeFileAtomic(path, key, { mode: 0o600, dirMode: 0o700, fsync: false });
}
