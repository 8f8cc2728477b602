import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Publishes the publishable client key for the CLI (`<run>/vm/internal-pck`): the key alone, without a
 * newline, as the original's guest wrote it (scripts read it whole); created with mode 0600
 * (never wider for an instant, as a chmod after writing would be), then renamed into place. Not
 * fsynced: it is rewritten at every start and worthless after a crash (its VM is gone), and on macOS
 * an fsync is F_FULLFSYNC, a flush of the whole disk cache, on the resume path.
 */
export async function writeClientKeyFile(path: string, key: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(key);
    await fh.close();
    await rename(tmp, path);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
}
