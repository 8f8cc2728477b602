import { decodeRecordDate, encodeRecordDate } from './dates.js';
import { IsoError } from './errors.js';
import { readU32both, u32both } from './numbers.js';

// System Use Sharing Protocol (SUSP 1.12) and Rock Ridge (RRIP 1.09/1.12) entries. Each entry is
// signature (2), length (1), version (1), data.

function entry(sig: string, data: Buffer): Buffer {
  const b = header(sig, data.length + 4);
  data.copy(b, 4);
  return b;
}

/**
 * A new entry of `length` bytes with its header filled in; the caller writes every data byte. One
 * small pooled allocation per entry: a tree of 4000 files needs 12000 of them.
 */
function header(sig: string, length: number): Buffer {
  if (length > 255) throw new RangeError(`${sig} entry too long`);
  const b = Buffer.allocUnsafe(length);
  b[0] = sig.charCodeAt(0);
  b[1] = sig.charCodeAt(1);
  b[2] = length;
  b[3] = 1;
  return b;
}

/** SUSP 5.3 "SP": first entry of the root's "." record; marks the volume as using SUSP. */
export function spEntry(): Buffer {
  return entry('SP', Buffer.from([0xbe, 0xef, 0]));
}

/** SUSP 5.5 "ER": names the extension (genisoimage's RRIP 1.09 texts, recognised by every reader). */
export function erEntry(): Buffer {
  const id = Buffer.from('RRIP_1991A');
  const des = Buffer.from('THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS');
  const src = Buffer.from(
    'PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.',
  );
  return entry('ER', Buffer.concat([Buffer.from([id.length, des.length, src.length, 1]), id, des, src]));
}

/** SUSP 5.1 "CE": where the rest of the entries continue (block, offset, length). */
export function ceEntry(block: number, offset: number, length: number): Buffer {
  const d = Buffer.alloc(24);
  u32both(d, 0, block);
  u32both(d, 8, offset);
  u32both(d, 16, length);
  return entry('CE', d);
}
export const CE_SIZE = 28;

/** RRIP "PX" (1.09 form, 36 bytes): mode, links, uid, gid. */
export function pxEntry(mode: number, nlink: number, uid: number, gid: number): Buffer {
  const b = header('PX', 36);
  u32both(b, 4, mode);
  u32both(b, 12, nlink);
  u32both(b, 20, uid);
  u32both(b, 28, gid);
  return b;
}

/** RRIP "TF": modify, access and attribute-change times (flags 0x0E), 7-byte format. */
export function tfEntry(mtime: Date): Buffer {
  const b = header('TF', 4 + 1 + 21);
  b[4] = 0x0e;
  encodeRecordDate(b, 5, mtime);
  b.copy(b, 12, 5, 12);
  b.copy(b, 19, 5, 12);
  return b;
}

/** RRIP "NM": the POSIX name, split into continued entries when over 250 bytes. */
export function nmEntries(name: string): Buffer[] {
  const bytes = Buffer.from(name, 'utf8');
  const out: Buffer[] = [];
  for (let off = 0; off < bytes.length; off += 250) {
    const end = Math.min(off + 250, bytes.length);
    const b = header('NM', 5 + end - off);
    b[4] = end < bytes.length ? 1 : 0;
    bytes.copy(b, 5, off, end);
    out.push(b);
  }
  return out;
}

/** RRIP "SL": a symlink target as components (root, ".", "..", names), split over entries as needed. */
export function slEntries(target: string): Buffer[] {
  const components: Buffer[] = [];
  const parts = target.split('/');
  if (target.startsWith('/')) components.push(Buffer.from([0x08, 0]));
  for (const [i, p] of parts.entries()) {
    if (p === '' && (i === 0 || i === parts.length - 1)) continue;
    if (p === '.') components.push(Buffer.from([0x02, 0]));
    else if (p === '..') components.push(Buffer.from([0x04, 0]));
    else {
      const b = Buffer.from(p, 'utf8');
      for (let off = 0; off < b.length || off === 0; off += 248) {
        const chunk = b.subarray(off, off + 248);
        components.push(Buffer.concat([Buffer.from([off + 248 < b.length ? 0x01 : 0, chunk.length]), chunk]));
        if (b.length === 0) break;
      }
    }
  }
  const out: Buffer[] = [];
  let cur: Buffer[] = [];
  let size = 0;
  const flush = (more: boolean) => {
    out.push(entry('SL', Buffer.concat([Buffer.from([more ? 1 : 0]), ...cur])));
    cur = [];
    size = 0;
  };
  for (const c of components) {
    if (size + c.length > 250) flush(true);
    cur.push(c);
    size += c.length;
  }
  flush(false);
  return out;
}

/** What the reader gathers from a record's system use entries. */
export interface RockRidgeInfo {
  name?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  nlink?: number;
  mtime?: Date;
  symlink?: string;
  /** Continuation area to read next. */
  ce?: { block: number; offset: number; length: number };
  sp?: boolean;
  er?: string;
  /** A relocated directory (RE) is skipped; a child link (CL) points at the real directory. */
  relocated?: boolean;
  childLink?: number;
  /** The last SL component said it continues in the next SL entry (RRIP 4.1.3.1 flag bit 0). */
  symlinkContinues?: boolean;
}

/** Parses one system use area into `info` (merged, so a continuation area can add to it). */
export function parseSystemUse(area: Buffer, info: RockRidgeInfo, where: string): void {
  let off = 0;
  info.ce = undefined;
  while (off + 4 <= area.length) {
    const sig = area.toString('latin1', off, off + 2);
    const len = area[off + 2]!;
    if (len < 4 || off + len > area.length) {
      if (sig === '\0\0' || len === 0) return; // zero padding
      throw new IsoError(
        'ISO_MALFORMED_IMAGE',
        `${where}: system use entry ${JSON.stringify(sig)} has bad length ${len}`,
      );
    }
    const d = area.subarray(off + 4, off + len);
    switch (sig) {
      case 'SP':
        info.sp = d[0] === 0xbe && d[1] === 0xef;
        break;
      case 'CE':
        info.ce = { block: readU32both(d, 0), offset: readU32both(d, 8), length: readU32both(d, 16) };
        break;
      case 'ER':
        info.er = d.toString('latin1', 4, 4 + d[0]!);
        break;
      case 'PX':
        info.mode = readU32both(d, 0);
        info.nlink = readU32both(d, 8);
        info.uid = readU32both(d, 16);
        info.gid = readU32both(d, 24);
        break;
      case 'TF': {
        const flags = d[0]!;
        const long = (flags & 0x80) !== 0;
        let p = 1;
        for (let bit = 0; bit < 7; bit++) {
          if (!(flags & (1 << bit))) continue;
          if (bit === 1 && !long) info.mtime = decodeRecordDate(d, p);
          p += long ? 17 : 7;
        }
        break;
      }
      case 'NM': {
        const flags = d[0]!;
        if (flags & 0x06) break; // "." or ".."
        info.name = (info.name ?? '') + d.subarray(1).toString('utf8');
        break;
      }
      case 'SL': {
        let p = 1;
        let s = info.symlink ?? '';
        let continued = info.symlinkContinues === true;
        while (p + 2 <= d.length) {
          const cf = d[p]!;
          const cl = d[p + 1]!;
          const content = d.subarray(p + 2, p + 2 + cl).toString('utf8');
          const part = cf & 0x08 ? '/' : cf & 0x02 ? '.' : cf & 0x04 ? '..' : content;
          if (cf & 0x08) s = '/';
          else {
            if (!continued && s !== '' && !s.endsWith('/')) s += '/';
            s += part;
          }
          continued = (cf & 0x01) !== 0;
          p += 2 + cl;
        }
        info.symlinkContinues = continued;
        info.symlink = s;
        break;
      }
      case 'RE':
        info.relocated = true;
        break;
      case 'CL':
        info.childLink = readU32both(d, 0);
        break;
      case 'ST':
        return;
      default:
        break;
    }
    off += len;
  }
}
