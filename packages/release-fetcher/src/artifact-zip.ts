import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import type { Entry, ZipFile } from 'yauzl';
import { FetchError } from './errors.js';

const bad = (why: string, cause?: unknown) =>
  new FetchError('FETCH_BAD_ARCHIVE', `refusing the artifact archive: ${why}`, { cause });

/** Unix file type bits of a member, when the archive was made on Unix (APPNOTE 4.4.2: host 3). */
function unixType(entry: Entry): number | undefined {
  if (entry.versionMadeBy >> 8 !== 3) return undefined;
  return (entry.externalFileAttributes >>> 16) & 0o170000;
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

async function open(path: string): Promise<ZipFile> {
  const { default: yauzl } = await import('yauzl'); // loaded when an artifact is extracted, not with the package
  return new Promise((resolve, reject) => {
    // strictFileNames: a backslash is not a separator to quietly translate; the name must be exact.
    yauzl.open(
      path,
      { lazyEntries: true, autoClose: false, strictFileNames: true, validateEntrySizes: true },
      (err, zip) => (err ? reject(bad(err.message, err)) : resolve(zip)),
    );
  });
}

/** Every member of the archive, read from its central directory (yauzl refuses unsafe names itself). */
function readEntries(zip: ZipFile): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    zip.on('entry', (e: Entry) => {
      entries.push(e);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', (e: Error) => reject(bad(e.message, e)));
    zip.readEntry();
  });
}

/**
 * Checks the whole archive, then extracts `member` (its exact path, no basename matching) to `dest`
 * with its size and CRC-32 checked and its sha256 computed on the way. Refused: duplicate names, any
 * member that is not a regular file or directory (a symlink would be installed as a file), names
 * that leave the destination (yauzl), a member that inflates past its declared size (yauzl stops
 * there: a zip bomb costs at most the declared size).
 */
export async function extractArtifactMember(
  zipPath: string,
  member: string,
  dest: string,
  options: { signal?: AbortSignal } = {},
): Promise<{ size: number; sha256: string }> {
  const zip = await open(zipPath);
  try {
    const entries = await readEntries(zip);
    const seen = new Set<string>();
    for (const e of entries) {
      const name = e.fileName.replace(/\/$/, '');
      if (seen.has(name)) throw bad(`"${name}" appears more than once`);
      seen.add(name);
      const type = unixType(e);
      const isDir = e.fileName.endsWith('/');
      if (type !== undefined && type !== 0 && type !== (isDir ? S_IFDIR : S_IFREG))
        throw bad(`"${e.fileName}" is not a regular file (mode ${(type >>> 12).toString(8)}xxxx)`);
    }
    const entry = entries.find((e) => e.fileName === member);
    if (!entry) {
      const elsewhere = entries.filter((e) => e.fileName.split('/').at(-1) === member).map((e) => e.fileName);
      throw bad(
        `it holds no ${member} at its top level${elsewhere.length ? ` (only ${elsewhere.join(', ')}, which is not used)` : ` (it has: ${entries.map((e) => e.fileName).join(', ') || 'nothing'})`}`,
      );
    }
    if (entry.isEncrypted()) throw bad(`${member} is encrypted`);
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
      zip.openReadStream(entry, (err, s) => (err ? reject(bad(err.message, err)) : resolve(s))),
    );
    const hash = createHash('sha256');
    let crc = 0;
    let size = 0;
    const check = new Transform({
      transform(chunk: Buffer, _enc, done) {
        crc = crc32(chunk, crc);
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(stream, check, createWriteStream(dest, { flags: 'w', mode: 0o644 }), { signal: options.signal });
    } catch (e) {
      if (options.signal?.aborted) throw new FetchError('FETCH_ABORTED', 'extraction aborted', { cause: e });
      if ((e as NodeJS.ErrnoException).syscall === 'write' || (e as NodeJS.ErrnoException).code === 'ENOSPC')
        throw new FetchError('FETCH_DISK', `cannot write ${dest}: ${(e as Error).message}`, { cause: e });
      throw bad(`${member} cannot be extracted: ${(e as Error).message}`, e);
    }
    if (size !== entry.uncompressedSize)
      throw bad(`${member} extracted to ${size} bytes, the archive says ${entry.uncompressedSize}`);
    if (crc >>> 0 !== entry.crc32 >>> 0) throw bad(`the CRC-32 of ${member} does not match`);
    return { size, sha256: hash.digest('hex') };
  } finally {
    zip.close();
  }
}
