import { type FileHandle, open } from 'node:fs/promises';
import { decodeRecordDate, decodeVolumeDate } from './dates.js';
import { IsoError } from './errors.js';
import { decodeUcs2 } from './names.js';
import { readU16both, readU32both } from './numbers.js';
import { parseSystemUse, type RockRidgeInfo } from './rock-ridge.js';

const SECTOR = 2048;

/** One entry of an image, as the reader resolved it. */
export interface IsoListing {
  /** Path from the root with a leading slash. */
  path: string;
  type: 'file' | 'directory' | 'symlink';
  size: number;
  /** Permission bits (Rock Ridge), else 0o755 for directories and 0o644 for files. */
  mode: number;
  mtime: Date;
  target?: string;
  /** Where the data lives: one extent, or several for multi-extent files. */
  extents: Array<{ sector: number; length: number }>;
}

export interface VolumeInfo {
  volumeId: string;
  jolietVolumeId: string | undefined;
  sectors: number;
  created: Date | undefined;
  /** Which names the listing uses. */
  namespace: 'rock-ridge' | 'joliet' | 'iso9660';
}

interface RawRecord {
  extent: number;
  length: number;
  flags: number;
  id: Buffer;
  date: Date;
  su: Buffer;
}

/** Sans-I/O: the records of one directory extent; a record never crosses a sector (ECMA-119 6.8.1.1). */
export function parseDirectoryRecords(data: Buffer, where: string): RawRecord[] {
  const out: RawRecord[] = [];
  let off = 0;
  while (off < data.length) {
    const len = data[off]!;
    if (len === 0) {
      off = (Math.floor(off / SECTOR) + 1) * SECTOR;
      continue;
    }
    if (len < 34 || off + len > data.length || Math.floor(off / SECTOR) !== Math.floor((off + len - 1) / SECTOR)) {
      throw new IsoError('ISO_MALFORMED_IMAGE', `${where}: bad directory record length ${len} at offset ${off}`);
    }
    const idLen = data[off + 32]!;
    if (33 + idLen > len)
      throw new IsoError('ISO_MALFORMED_IMAGE', `${where}: identifier overruns its record at offset ${off}`);
    const suStart = off + 33 + idLen + (idLen % 2 === 0 ? 1 : 0);
    out.push({
      extent: readU32both(data, off + 2),
      length: readU32both(data, off + 10),
      flags: data[off + 25]!,
      id: data.subarray(off + 33, off + 33 + idLen),
      date: decodeRecordDate(data, off + 18),
      su: data.subarray(Math.min(suStart, off + len), off + len),
    });
    off += len;
  }
  return out;
}

/** Reads images written by this package, genisoimage, xorriso and others. */
export class IsoReader {
  readonly volume: VolumeInfo;
  readonly #fh: FileHandle;
  readonly #root: { extent: number; length: number };
  readonly #joliet: boolean;
  readonly #size: number;

  private constructor(
    fh: FileHandle,
    size: number,
    volume: VolumeInfo,
    root: { extent: number; length: number },
    joliet: boolean,
  ) {
    this.#fh = fh;
    this.#size = size;
    this.volume = volume;
    this.#root = root;
    this.#joliet = joliet;
  }

  static async open(path: string): Promise<IsoReader> {
    const fh = await open(path, 'r').catch((e: Error) => {
      throw new IsoError('ISO_NOT_FOUND', `cannot open image "${path}": ${e.message}`, { cause: e, path });
    });
    try {
      const size = (await fh.stat()).size;
      let pvd: Buffer | undefined;
      let svd: Buffer | undefined;
      for (let s = 16; s < 100; s++) {
        const d = await readAt(fh, s * SECTOR, SECTOR, size, path);
        if (d.toString('ascii', 1, 6) !== 'CD001')
          throw new IsoError('ISO_MALFORMED_IMAGE', `"${path}" is not an ISO 9660 image (no CD001 at sector ${s})`, {
            path,
          });
        if (d[0] === 1 && !pvd) pvd = d;
        // Joliet: a supplementary descriptor with escape %/@, %/C or %/E (UCS-2 levels 1-3).
        if (d[0] === 2 && d[88] === 0x25 && d[89] === 0x2f && [0x40, 0x43, 0x45].includes(d[90]!)) svd = d;
        if (d[0] === 255) break;
      }
      if (!pvd) throw new IsoError('ISO_MALFORMED_IMAGE', `"${path}" has no primary volume descriptor`, { path });
      const rootOf = (d: Buffer) => ({ extent: readU32both(d, 156 + 2), length: readU32both(d, 156 + 10) });
      const primaryRoot = rootOf(pvd);
      const rootData = await readAt(fh, primaryRoot.extent * SECTOR, Math.min(primaryRoot.length, SECTOR), size, path);
      const dot = parseDirectoryRecords(rootData, `${path}: root`)[0];
      const info: RockRidgeInfo = {};
      if (dot) parseSystemUse(dot.su, info, `${path}: root`);
      const rockRidge = info.sp === true;
      const useJoliet = !rockRidge && svd !== undefined;
      const volume: VolumeInfo = {
        volumeId: pvd.toString('ascii', 40, 72).trimEnd(),
        jolietVolumeId: svd ? decodeUcs2(svd.subarray(40, 72)).trimEnd() : undefined,
        sectors: readU32both(pvd, 80),
        created: decodeVolumeDate(pvd, 813),
        namespace: rockRidge ? 'rock-ridge' : useJoliet ? 'joliet' : 'iso9660',
      };
      const blockSize = readU16both(pvd, 128);
      if (blockSize !== SECTOR)
        throw new IsoError(
          'ISO_MALFORMED_IMAGE',
          `"${path}" uses ${blockSize}-byte logical blocks; only 2048 is supported`,
          { path },
        );
      return new IsoReader(fh, size, volume, useJoliet ? rootOf(svd!) : primaryRoot, useJoliet);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Every entry, depth first, children in image order. */
  async list(): Promise<IsoListing[]> {
    const out: IsoListing[] = [];
    const size = this.#size;
    const seen = new Set<number>();
    const walk = async (dir: { extent: number; length: number }, prefix: string) => {
      if (seen.has(dir.extent)) throw new IsoError('ISO_MALFORMED_IMAGE', `directory loop at sector ${dir.extent}`);
      seen.add(dir.extent);
      const data = await readAt(this.#fh, dir.extent * SECTOR, dir.length, size, prefix || '/');
      const records = parseDirectoryRecords(data, prefix || '/');
      let pending: IsoListing | undefined;
      for (const r of records.slice(2)) {
        if (pending) {
          // Multi-extent: the next record with the same name continues the file (ECMA-119 9.1.6).
          pending.extents.push({ sector: r.extent, length: r.length });
          pending.size += r.length;
          if (!(r.flags & 0x80)) pending = undefined;
          continue;
        }
        const found = await this.#entry(r, prefix, size);
        if (!found) continue;
        const { entry, childLink } = found;
        if (r.flags & 0x80) pending = entry;
        if (entry.type !== 'directory') {
          out.push(entry);
          continue;
        }
        // RRIP 4.1.5.1: a CL entry stands for a directory that deep-nesting relocation moved
        // elsewhere (genisoimage's rr_moved); its real extent is the one CL names.
        let dir = { extent: r.extent, length: r.length };
        if (childLink !== undefined) {
          const first = parseDirectoryRecords(
            await readAt(this.#fh, childLink * SECTOR, SECTOR, size, entry.path),
            entry.path,
          )[0];
          dir = { extent: childLink, length: first?.length ?? SECTOR };
        }
        const at = out.push(entry);
        const before = out.length;
        await walk(dir, entry.path);
        // genisoimage's relocation directory is an artefact: hide it once its moved entries are gone.
        if (prefix === '' && /^\.?rr_moved$/.test(entry.path.slice(1)) && out.length === before) out.splice(at - 1, 1);
      }
    };
    await walk(this.#root, '');
    return out;
  }

  async #entry(
    r: RawRecord,
    prefix: string,
    size: number,
  ): Promise<{ entry: IsoListing; childLink?: number } | undefined> {
    const isDir = (r.flags & 0x02) !== 0;
    let name: string;
    const rr: RockRidgeInfo = {};
    if (this.volume.namespace === 'rock-ridge') {
      parseSystemUse(r.su, rr, prefix || '/');
      for (let hops = 0; rr.ce && hops < 16; hops++) {
        const ce = rr.ce;
        parseSystemUse(await readAt(this.#fh, ce.block * SECTOR + ce.offset, ce.length, size, prefix), rr, prefix);
      }
      if (rr.relocated) return undefined;
    }
    if (rr.name !== undefined) name = rr.name;
    else if (this.#joliet) name = decodeUcs2(r.id).replace(/;1$/, '');
    else name = r.id.toString('latin1').replace(/;\d+$/, '').replace(/\.$/, '');
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
      throw new IsoError('ISO_MALFORMED_IMAGE', `unsafe name ${JSON.stringify(name)} in ${prefix || '/'}`);
    }
    const path = `${prefix}/${name}`;
    const type = rr.symlink !== undefined ? 'symlink' : isDir || rr.childLink !== undefined ? 'directory' : 'file';
    const mode = rr.mode !== undefined ? rr.mode & 0o7777 : isDir ? 0o755 : 0o644;
    const entry: IsoListing = {
      path,
      type,
      size: type === 'file' ? r.length : 0,
      mode,
      mtime: rr.mtime ?? r.date,
      target: rr.symlink,
      extents: type === 'file' ? [{ sector: r.extent, length: r.length }] : [],
    };
    return { entry, childLink: rr.childLink };
  }

  /** Streams a file's bytes, extent by extent, in 1 MiB reads. */
  async *read(entry: IsoListing): AsyncGenerator<Buffer> {
    const size = this.#size;
    for (const e of entry.extents) {
      for (let off = 0; off < e.length; off += 1024 * 1024) {
        yield await readAt(this.#fh, e.sector * SECTOR + off, Math.min(1024 * 1024, e.length - off), size, entry.path);
      }
    }
  }

  /** A whole file in memory. */
  async readFile(path: string): Promise<Buffer> {
    const entry = (await this.list()).find((e) => e.path === (path.startsWith('/') ? path : `/${path}`));
    if (!entry || entry.type !== 'file')
      throw new IsoError('ISO_NOT_FOUND', `no file "${path}" in the image`, { path });
    const parts: Buffer[] = [];
    for await (const p of this.read(entry)) parts.push(p);
    return Buffer.concat(parts);
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}

async function readAt(fh: FileHandle, pos: number, length: number, size: number, where: string): Promise<Buffer> {
  if (pos + length > size)
    throw new IsoError(
      'ISO_MALFORMED_IMAGE',
      `${where}: data at byte ${pos} (+${length}) lies past the end of the image (${size} bytes); is it truncated?`,
    );
  const b = Buffer.alloc(length);
  const { bytesRead } = await fh.read(b, 0, length, pos);
  if (bytesRead !== length) throw new IsoError('ISO_MALFORMED_IMAGE', `${where}: short read at byte ${pos}`);
  return b;
}
