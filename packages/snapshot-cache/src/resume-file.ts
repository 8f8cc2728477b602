import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '@stack/internal';
import { STATE_RAW, STATE_ZST } from './capture.js';
import { SnapshotCorruptError } from './errors.js';
import { edgeDigest, sampledProblem } from './file-digest.js';
import type { Fsync } from './fsync.js';
import type { RunTool } from './run-tool.js';
import type { SnapshotEntry } from './snapshot-meta.js';
import { statIfExists } from './stat-if-exists.js';
import { tempDirName, whileBusy } from './temp-dirs.js';

/** A decompression's temp file inside an entry (a killed one is swept). */
export const RESTORE_PREFIX = `.${STATE_RAW}.tmp-`;

/**
 * The entry's uncompressed state file, checked (size, first and last MiB; a template's RAM file by
 * samples); a missing or failing one is rebuilt from the compressed copy, verified in full (size and
 * sha256), synced and renamed into place, then the directory synced. Throws {@link SnapshotCorruptError}.
 */
export async function resumeFile(
  entry: SnapshotEntry,
  deps: { run: RunTool; fsync: Fsync; signal?: AbortSignal },
): Promise<string> {
  const ram = entry.meta.ram;
  if (ram) {
    // No second copy to rebuild it from: a template whose samples differ is corrupt.
    const file = join(entry.dir, ram.file);
    const problem = await sampledProblem(file, ram);
    if (problem === 'missing') throw new SnapshotCorruptError(file, 'the template RAM file is missing');
    if (problem)
      throw new SnapshotCorruptError(
        file,
        `the template RAM file differs from the capture (${(await stat(file)).size} bytes, expected ${ram.size})`,
      );
  }
  const raw = join(entry.dir, STATE_RAW);
  const want = entry.meta.state;
  const st = await statIfExists(raw);
  if (st && st.size === want.size && (await edgeDigest(raw)) === want.edgeSha256) return raw;
  const zst = join(entry.dir, STATE_ZST);
  if (!(await statIfExists(zst))) {
    throw new SnapshotCorruptError(
      raw,
      st
        ? `size ${st.size} or content differs from the captured ${want.size} bytes, and no compressed copy exists`
        : 'missing, and no compressed copy exists',
    );
  }
  const tmp = join(entry.dir, tempDirName(RESTORE_PREFIX));
  return whileBusy(tmp, async () => {
    try {
      await deps.run('zstd', ['-q', '-d', '-f', zst, '-o', tmp], { signal: deps.signal }).catch((e: Error) => {
        throw new SnapshotCorruptError(zst, `cannot be decompressed (${e.message})`);
      });
      const size = (await stat(tmp)).size;
      if (size !== want.size)
        throw new SnapshotCorruptError(zst, `decompresses to ${size} bytes, expected ${want.size}`);
      if ((await sha256File(tmp, deps.signal)) !== want.sha256)
        throw new SnapshotCorruptError(zst, 'sha256 of the decompressed state differs from the capture');
      await deps.fsync.file(tmp);
      await rename(tmp, raw);
      await deps.fsync.dir(entry.dir);
      return raw;
    } finally {
      await rm(tmp, { force: true });
    }
  });
}
