import { encodeRecordDate, encodeVolumeDate } from './dates.js';
import { type DirPlan, type LayoutPlan, MAX_EXTENT, type NamespacePlan, type RecordPlan, SECTOR } from './layout.js';
import { encodeUcs2 } from './names.js';
import { u16both, u16be, u16le, u32both, u32be, u32le } from './numbers.js';
import { ceEntry } from './rock-ridge.js';

export interface DescriptorText {
  systemId: string;
  publisherId: string;
  preparerId: string;
  applicationId: string;
}

function extentOf(
  plan: LayoutPlan,
  fileSectors: Map<unknown, number>,
  r: RecordPlan,
): { extent: number; length: number } {
  if (r.dirTarget) return { extent: r.dirTarget.sector, length: r.dirTarget.size };
  if (r.node.kind !== 'file' || r.node.size === 0) return { extent: 0, length: 0 };
  return { extent: fileSectors.get(r.node)! + r.part * (MAX_EXTENT / SECTOR), length: r.partLength };
}

/**
 * ECMA-119 9.1: one directory record, with its system use area (and CE pointer) when present,
 * written at `at` into `b`, which must be zero there (padding bytes are left as they are).
 */
function encodeRecord(plan: LayoutPlan, fileSectors: Map<unknown, number>, r: RecordPlan, b: Buffer, at: number): void {
  const { extent, length } = extentOf(plan, fileSectors, r);
  b[at] = r.size;
  u32both(b, at + 2, extent);
  u32both(b, at + 10, length);
  encodeRecordDate(b, at + 18, r.node.mtime);
  let flags = r.node.kind === 'directory' ? 0x02 : 0;
  if (!r.last) flags |= 0x80; // 9.1.6 bit 7: the file continues in the next record (multi-extent)
  b[at + 25] = flags;
  u16both(b, at + 28, 1);
  b[at + 32] = r.id.length;
  r.id.copy(b, at + 33);
  let off = at + 33 + r.id.length + (r.id.length % 2 === 0 ? 1 : 0);
  for (const e of r.inline) {
    e.copy(b, off);
    off += e.length;
  }
  if (r.continuation) {
    const abs = plan.cePoolSector * SECTOR + r.continuation.poolOffset;
    ceEntry(Math.floor(abs / SECTOR), abs % SECTOR, r.continuation.length).copy(b, off);
  }
}

function encodeDirectory(plan: LayoutPlan, fileSectors: Map<unknown, number>, dir: DirPlan): Buffer {
  const out = Buffer.alloc(dir.size);
  for (const r of dir.records) encodeRecord(plan, fileSectors, r, out, r.offset);
  return out;
}

/** ECMA-119 9.4: the L (little-endian) or M (big-endian) path table, padded to whole sectors. */
function encodePathTable(ns: NamespacePlan, bigEndian: boolean): Buffer {
  const out = Buffer.alloc(Math.ceil(ns.pathTableSize / SECTOR) * SECTOR);
  let off = 0;
  for (const d of ns.dirs) {
    out[off] = d.id.length;
    if (bigEndian) {
      u32be(out, off + 2, d.sector);
      u16be(out, off + 6, d.parent?.number ?? 1);
    } else {
      u32le(out, off + 2, d.sector);
      u16le(out, off + 6, d.parent?.number ?? 1);
    }
    d.id.copy(out, off + 8);
    off += 8 + d.id.length + (d.id.length % 2);
  }
  return out;
}

function textField(b: Buffer, off: number, len: number, s: string, joliet: boolean): void {
  if (!joliet) {
    b.fill(0x20, off, off + len);
    b.write(s.slice(0, len), off, 'ascii');
    return;
  }
  // Joliet text fields are UCS-2 padded with UCS-2 spaces (00 20); odd-sized fields end with 0x20.
  for (let i = 0; i + 1 < len; i += 2) {
    b[off + i] = 0;
    b[off + i + 1] = 0x20;
  }
  if (len % 2) b[off + len - 1] = 0x20;
  encodeUcs2(s)
    .subarray(0, len & ~1)
    .copy(b, off);
}

/** ECMA-119 8.4 (primary) or 8.5 (supplementary, Joliet) volume descriptor. */
function encodeVolumeDescriptor(plan: LayoutPlan, ns: NamespacePlan, text: DescriptorText, date: Date): Buffer {
  const b = Buffer.alloc(SECTOR);
  const joliet = ns.joliet;
  b[0] = joliet ? 2 : 1;
  b.write('CD001', 1, 'ascii');
  b[6] = 1;
  textField(b, 8, 32, text.systemId, joliet);
  textField(b, 40, 32, joliet ? plan.volumeId.joliet : plan.volumeId.primary, joliet);
  u32both(b, 80, plan.totalSectors);
  if (joliet) b.write('%/E', 88, 'ascii'); // Joliet UCS-2 level 3
  u16both(b, 120, 1);
  u16both(b, 124, 1);
  u16both(b, 128, SECTOR);
  u32both(b, 132, ns.pathTableSize);
  u32le(b, 140, ns.lPathSector);
  u32be(b, 148, ns.mPathSector);
  const root = ns.dirs[0]!;
  const rec = Buffer.alloc(34);
  rec[0] = 34;
  u32both(rec, 2, root.sector);
  u32both(rec, 10, root.size);
  encodeRecordDate(rec, 18, root.node.mtime);
  rec[25] = 0x02;
  u16both(rec, 28, 1);
  rec[32] = 1;
  rec.copy(b, 156);
  textField(b, 190, 128, '', joliet);
  textField(b, 318, 128, text.publisherId, joliet);
  textField(b, 446, 128, text.preparerId, joliet);
  textField(b, 574, 128, text.applicationId, joliet);
  textField(b, 702, 37, '', joliet);
  textField(b, 739, 37, '', joliet);
  textField(b, 776, 37, '', joliet);
  encodeVolumeDate(b, 813, date);
  encodeVolumeDate(b, 830, date);
  encodeVolumeDate(b, 847, undefined);
  encodeVolumeDate(b, 864, date);
  b[881] = 1;
  return b;
}

function encodeTerminator(): Buffer {
  const b = Buffer.alloc(SECTOR);
  b[0] = 255;
  b.write('CD001', 1, 'ascii');
  b[6] = 1;
  return b;
}

/** The continuation areas of Rock Ridge entries that did not fit in their records. */
function encodeCePool(plan: LayoutPlan): Buffer {
  const out = Buffer.alloc(plan.cePoolSectors * SECTOR);
  for (const d of plan.primary.dirs) {
    for (const r of d.records) {
      if (!r.continuation) continue;
      let off = r.continuation.poolOffset;
      for (const e of r.continuation.entries) {
        e.copy(out, off);
        off += e.length;
      }
    }
  }
  return out;
}

/** The sectors before the file data: system area, volume descriptors, terminator. */
export function* encodeHead(plan: LayoutPlan, text: DescriptorText, date: Date): Generator<Buffer> {
  yield Buffer.alloc(16 * SECTOR); // system area (ECMA-119 6.2.1): unused here
  yield encodeVolumeDescriptor(plan, plan.primary, text, date);
  if (plan.joliet) yield encodeVolumeDescriptor(plan, plan.joliet, text, date);
  yield encodeTerminator();
}

/** The sectors after the file data, in order: path tables, directories, Rock Ridge continuation areas. */
export function* encodeTail(plan: LayoutPlan): Generator<Buffer> {
  const fileSectors = new Map<unknown, number>(plan.files.map((f) => [f.node, f.sector]));
  for (const ns of [plan.primary, plan.joliet]) {
    if (!ns) continue;
    yield encodePathTable(ns, false);
    yield encodePathTable(ns, true);
  }
  for (const ns of [plan.primary, plan.joliet])
    for (const d of ns?.dirs ?? []) yield encodeDirectory(plan, fileSectors, d);
  yield encodeCePool(plan);
}
