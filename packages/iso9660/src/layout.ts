import { IsoError } from './errors.js';
import { assignIsoIds, assignJolietIds, compareIdentifierKeys, encodeUcs2, identifierKey, volumeIds } from './names.js';
import { CE_SIZE, erEntry, nmEntries, pxEntry, slEntries, spEntry, tfEntry } from './rock-ridge.js';
import { directoriesBreadthFirst, type TreeNode } from './tree.js';

export const SECTOR = 2048;
/** Largest extent of a multi-extent file: 4 GiB minus one sector, so every extent is sector-aligned. */
export const MAX_EXTENT = 0xfffff800;

export interface RecordPlan {
  node: TreeNode;
  /** File identifier bytes (0x00 for ".", 0x01 for ".."). */
  id: Buffer;
  /** Which directory the record points at for "." and ".."; else undefined. */
  dirTarget?: DirPlan;
  /** Index of the extent for multi-extent files. */
  part: number;
  partLength: number;
  last: boolean;
  /** System use entries written inline; `ce` marks where a CE entry goes (filled in at write time). */
  inline: Buffer[];
  continuation?: { entries: Buffer[]; poolOffset: number; length: number };
  size: number;
  /** Byte offset of the record within its directory extent. */
  offset: number;
}

export interface DirPlan {
  node: TreeNode;
  number: number;
  parent: DirPlan | undefined;
  id: Buffer;
  records: RecordPlan[];
  sector: number;
  size: number;
}

export interface NamespacePlan {
  joliet: boolean;
  dirs: DirPlan[];
  pathTableSize: number;
  lPathSector: number;
  mPathSector: number;
}

export interface FilePlan {
  node: TreeNode;
  sector: number;
}

export interface LayoutPlan {
  volumeId: { primary: string; joliet: string };
  rockRidge: boolean;
  primary: NamespacePlan;
  joliet: NamespacePlan | undefined;
  cePoolSector: number;
  cePoolSectors: number;
  files: FilePlan[];
  totalSectors: number;
}

const sectors = (bytes: number) => Math.ceil(bytes / SECTOR);

function sortedChildren(node: TreeNode, ids: Map<TreeNode, string>): TreeNode[] {
  const keyed = node.children.map((c) => ({ c, key: identifierKey(ids.get(c)!) }));
  keyed.sort((a, b) => compareIdentifierKeys(a.key, b.key));
  return keyed.map((k) => k.c);
}

function recordBase(idLength: number): number {
  return 33 + idLength + (idLength % 2 === 0 ? 1 : 0);
}

function rrEntries(node: TreeNode, kind: 'self' | 'parent' | 'child', isRootSelf: boolean): Buffer[] {
  const nlink = node.kind === 'directory' ? 2 + node.children.filter((c) => c.kind === 'directory').length : 1;
  const e: Buffer[] = [];
  if (isRootSelf) e.push(spEntry());
  e.push(pxEntry(node.mode, nlink, node.uid, node.gid), tfEntry(node.mtime));
  if (kind === 'child') {
    e.push(...nmEntries(node.name));
    if (node.kind === 'symlink') e.push(...slEntries(node.target!));
  }
  if (isRootSelf) e.push(erEntry());
  return e;
}

/** Splits system use entries between the record (max 255 bytes in all) and a continuation area. */
function placeSystemUse(r: RecordPlan, entries: Buffer[], pool: { offset: number }): void {
  const base = recordBase(r.id.length);
  const avail = (255 - base) & ~1;
  const total = entries.reduce((s, b) => s + b.length, 0);
  if (total <= avail) {
    r.inline = entries;
  } else {
    let used = 0;
    let i = 0;
    while (i < entries.length && used + entries[i]!.length + CE_SIZE <= avail) used += entries[i++]!.length;
    r.inline = entries.slice(0, i);
    const rest = entries.slice(i);
    const length = rest.reduce((s, b) => s + b.length, 0);
    if (length > SECTOR)
      throw new IsoError('ISO_INVALID_NAME', `"${r.node.path}": Rock Ridge data (name or symlink target) is too long`, {
        path: r.node.path,
      });
    if ((pool.offset % SECTOR) + length > SECTOR) pool.offset = sectors(pool.offset) * SECTOR;
    r.continuation = { entries: rest, poolOffset: pool.offset, length };
    pool.offset += length;
  }
  const su = r.inline.reduce((s, b) => s + b.length, 0) + (r.continuation ? CE_SIZE : 0);
  r.size = base + su + (su % 2);
}

function planNamespace(root: TreeNode, joliet: boolean, rockRidge: boolean, pool: { offset: number }): NamespacePlan {
  const ids = new Map<TreeNode, string>();
  const assign = (dir: TreeNode) => {
    const m = joliet
      ? assignJolietIds(dir.children, rockRidge, `/${dir.path}`)
      : assignIsoIds(dir.children.map((c) => ({ name: c.name, isDir: c.kind === 'directory' })));
    for (const c of dir.children) ids.set(c, m.get(c.name)!);
  };
  const encode = (s: string) => (joliet ? encodeUcs2(s) : Buffer.from(s, 'ascii'));
  const dirs: DirPlan[] = [];
  const byNode = new Map<TreeNode, DirPlan>();
  for (const node of directoriesBreadthFirst(root, (d) => (assign(d), sortedChildren(d, ids)))) {
    const parent = node.parent ? byNode.get(node.parent) : undefined;
    const dir: DirPlan = {
      node,
      number: dirs.length + 1,
      parent,
      id: node.parent ? encode(ids.get(node)!) : Buffer.from([0]),
      records: [],
      sector: 0,
      size: 0,
    };
    if (dirs.length >= 0xffff) throw new IsoError('ISO_TOO_LARGE', 'more than 65535 directories (path table limit)');
    dirs.push(dir);
    byNode.set(node, dir);
  }
  for (const dir of dirs) {
    const rr = rockRidge && !joliet;
    const mk = (
      node: TreeNode,
      id: Buffer,
      part: number,
      partLength: number,
      last: boolean,
      dirTarget?: DirPlan,
    ): RecordPlan => ({ node, id, part, partLength, last, dirTarget, inline: [], size: 0, offset: 0 });
    const self = mk(dir.node, Buffer.from([0]), 0, 0, true, dir);
    const up = mk(dir.parent?.node ?? dir.node, Buffer.from([1]), 0, 0, true, dir.parent ?? dir);
    const records = [self, up];
    if (rr) {
      placeSystemUse(self, rrEntries(dir.node, 'self', !dir.parent), pool);
      placeSystemUse(up, rrEntries(up.node, 'parent', false), pool);
    } else {
      self.size = up.size = 34;
    }
    for (const child of sortedChildren(dir.node, ids)) {
      const id = encode(ids.get(child)!);
      const parts = child.kind === 'file' && child.size > 0 ? Math.ceil(child.size / MAX_EXTENT) : 1;
      for (let p = 0; p < parts; p++) {
        const len = child.kind === 'file' ? Math.min(MAX_EXTENT, child.size - p * MAX_EXTENT) : 0;
        const r = mk(child, id, p, len, p === parts - 1, child.kind === 'directory' ? byNode.get(child) : undefined);
        if (rr) placeSystemUse(r, rrEntries(child, 'child', false), pool);
        else r.size = recordBase(id.length);
        records.push(r);
      }
    }
    // ECMA-119 6.8.1.1: a directory record never crosses a logical sector boundary.
    let pos = 0;
    for (const r of records) {
      if ((pos % SECTOR) + r.size > SECTOR) pos = sectors(pos) * SECTOR;
      r.offset = pos;
      pos += r.size;
    }
    dir.records = records;
    dir.size = Math.max(1, sectors(pos)) * SECTOR;
  }
  const pathTableSize = dirs.reduce((s, d) => s + 8 + d.id.length + (d.id.length % 2), 0);
  return { joliet, dirs, pathTableSize, lPathSector: 0, mPathSector: 0 };
}

/** Sectors before the file data: system area (16), primary and Joliet descriptors, terminator. */
function descriptorSectors(joliet: boolean): number {
  return 16 + 1 + (joliet ? 1 : 0) + 1;
}

/**
 * Where every file's data goes: right after the volume descriptors, in path order, directories and
 * path tables after it (ECMA-119 locates every extent by pointer; nothing requires directories
 * first). This needs only the tree, so the data can be copied while the directories are planned.
 */
export function planFiles(root: TreeNode, joliet: boolean): { files: FilePlan[]; end: number } {
  const files: FilePlan[] = [];
  let next = descriptorSectors(joliet);
  const visit = (dir: TreeNode) => {
    const children = [...dir.children].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const c of children) {
      if (c.kind === 'file') {
        files.push({ node: c, sector: next });
        next += sectors(c.size);
      } else if (c.kind === 'directory') visit(c);
    }
  };
  visit(root);
  return { files, end: next };
}

/** Computes every size and location of the image: the sans-I/O core of the writer. */
export function planLayout(
  root: TreeNode,
  options: { volumeId: string; joliet: boolean; rockRidge: boolean },
  data = planFiles(root, options.joliet),
): LayoutPlan {
  const pool = { offset: 0 };
  const primary = planNamespace(root, false, options.rockRidge, pool);
  const joliet = options.joliet ? planNamespace(root, true, options.rockRidge, pool) : undefined;
  let next = data.end;
  for (const ns of [primary, joliet]) {
    if (!ns) continue;
    ns.lPathSector = next;
    next += sectors(ns.pathTableSize);
    ns.mPathSector = next;
    next += sectors(ns.pathTableSize);
  }
  for (const ns of [primary, joliet]) {
    for (const d of ns?.dirs ?? []) {
      d.sector = next;
      next += d.size / SECTOR;
    }
  }
  const cePoolSector = next;
  const cePoolSectors = sectors(pool.offset);
  next += cePoolSectors;
  if (next > 0xffffffff) throw new IsoError('ISO_TOO_LARGE', 'image exceeds 2^32 sectors (8 TiB)');
  return {
    volumeId: volumeIds(options.volumeId),
    rockRidge: options.rockRidge,
    primary,
    joliet,
    cePoolSector,
    cePoolSectors,
    files: data.files,
    totalSectors: next,
  };
}
