import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { isAbsolute, normalize, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
import { FetchError } from './errors.js';

/** One member of a zip archive (from its central directory). */
export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const bad = (why: string) => new FetchError('FETCH_BAD_ARCHIVE', `not a usable zip archive: ${why}`);

/** Reads the central directory (APPNOTE 6.3: EOCD, ZIP64 EOCD locator and record, zip64 extra fields). */
export async function listZip(path: string): Promise<ZipEntry[]> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const tailLen = Math.min(size, 65_557);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw bad('no end of central directory');
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    if (cdOffset === 0xffffffff || count === 0xffff) {
      const loc = eocd - 20;
      if (loc < 0 || tail.readUInt32LE(loc) !== 0x07064b50) throw bad('zip64 locator missing');
      const recOffset = Number(tail.readBigUInt64LE(loc + 8));
      const rec = Buffer.alloc(56);
      await fh.read(rec, 0, 56, recOffset);
      if (rec.readUInt32LE(0) !== 0x06064b50) throw bad('zip64 end record missing');
      count = Number(rec.readBigUInt64LE(32));
      cdSize = Number(rec.readBigUInt64LE(40));
      cdOffset = Number(rec.readBigUInt64LE(48));
    }
    if (cdOffset + cdSize > size) throw bad('central directory beyond the end of the file');
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (cd.readUInt32LE(p) !== 0x02014b50) throw bad(`bad central directory entry ${i}`);
      const method = cd.readUInt16LE(p + 10);
      const crc = cd.readUInt32LE(p + 16);
      let compressedSize = cd.readUInt32LE(p + 20);
      let usize = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      let offset = cd.readUInt32LE(p + 42);
      const name = cd.subarray(p + 46, p + 46 + nameLen).toString('utf8');
      let e = p + 46 + nameLen;
      const end = e + extraLen;
      while (e + 4 <= end) {
        const id = cd.readUInt16LE(e);
        const len = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (usize === 0xffffffff) {
            usize = Number(cd.readBigUInt64LE(q));
            q += 8;
          }
          if (compressedSize === 0xffffffff) {
            compressedSize = Number(cd.readBigUInt64LE(q));
            q += 8;
          }
          if (offset === 0xffffffff) offset = Number(cd.readBigUInt64LE(q));
        }
        e += 4 + len;
      }
      entries.push({ name, method, crc32: crc, compressedSize, size: usize, localHeaderOffset: offset });
      p = end + commentLen;
    }
    return entries;
  } finally {
    await fh.close();
  }
}

/** True for a member name that stays inside the destination (no absolute path, no `..`). */
export function isSafeEntryName(name: string): boolean {
  if (name === '' || isAbsolute(name) || /^[a-zA-Z]:/.test(name) || name.includes('\\')) return false;
  const n = normalize(name);
  return n !== '..' && !n.startsWith(`..${sep}`) && !n.split(sep).includes('..');
}

/**
 * Extracts one member to `dest`, checking its CRC-32 and size. Refuses unsafe names (path traversal)
 * and methods other than stored (0) and deflate (8).
 */
export async function extractZipEntry(zipPath: string, entry: ZipEntry, dest: string): Promise<void> {
  if (!isSafeEntryName(entry.name)) throw bad(`member "${entry.name}" would be written outside the destination`);
  if (entry.method !== 0 && entry.method !== 8) throw bad(`member "${entry.name}" uses compression method ${entry.method}`);
  const fh = await open(zipPath, 'r');
  const head = Buffer.alloc(30);
  await fh.read(head, 0, 30, entry.localHeaderOffset);
  await fh.close();
  if (head.readUInt32LE(0) !== 0x04034b50) throw bad(`bad local header for "${entry.name}"`);
  const dataStart = entry.localHeaderOffset + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
  let crc = 0;
  let size = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const source = entry.compressedSize === 0 ? [] : createReadStream(zipPath, { start: dataStart, end: dataStart + entry.compressedSize - 1, highWaterMark: 1 << 20 });
  const stages = entry.method === 8 ? [source, createInflateRaw(), check, createWriteStream(dest)] : [source, check, createWriteStream(dest)];
  await (pipeline as (...s: unknown[]) => Promise<void>)(...stages);
  if (size !== entry.size) throw bad(`"${entry.name}" extracted to ${size} bytes, expected ${entry.size}`);
  if (crc >>> 0 !== entry.crc32 >>> 0) throw bad(`CRC-32 of "${entry.name}" does not match`);
}
