import type { Readable } from 'node:stream';
import { IsoError } from './errors.js';

/** Where a file's bytes come from. The size must be known up front: it decides the layout. */
export type FileData =
  | Uint8Array
  | string
  | { size: number; stream: () => Readable | AsyncIterable<Uint8Array> }
  | { size: number; path: string };

/** One input entry. Paths use `/`, are relative to the image root, and need not list parent dirs. */
export type IsoEntry =
  | { type: 'file'; path: string; data: FileData; mode?: number; mtime?: Date; uid?: number; gid?: number }
  | { type: 'directory'; path: string; mode?: number; mtime?: Date; uid?: number; gid?: number }
  | { type: 'symlink'; path: string; target: string; mode?: number; mtime?: Date; uid?: number; gid?: number };

export interface TreeNode {
  name: string;
  /** Path from the root, `/`-separated, without leading slash ("" for the root). */
  path: string;
  kind: 'file' | 'directory' | 'symlink';
  mode: number;
  mtime: Date;
  uid: number;
  gid: number;
  size: number;
  data?: FileData;
  target?: string;
  children: TreeNode[];
  parent: TreeNode | undefined;
}

/** Whether the data is a file on disk (copied by path, possibly on the copy threads). */
export function isDiskFile(data: FileData): data is { size: number; path: string } {
  return typeof data === 'object' && 'path' in data;
}

function dataSize(data: FileData): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (data instanceof Uint8Array) return data.length;
  return data.size;
}

function checkName(name: string, path: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('\0')) {
    throw new IsoError(
      'ISO_INVALID_NAME',
      `invalid path "${path}": empty, ".", ".." or NUL components are not allowed`,
      { path },
    );
  }
  if (Buffer.byteLength(name) > 255)
    throw new IsoError('ISO_INVALID_NAME', `"${path}": a name may be at most 255 bytes`, { path });
}

/** Builds the tree, creating missing parent directories and refusing duplicates. */
export function buildTree(entries: readonly IsoEntry[], defaults: { mtime: Date; fixedDate: boolean }): TreeNode {
  const mk = (name: string, path: string, kind: TreeNode['kind'], parent: TreeNode | undefined): TreeNode => ({
    name,
    path,
    kind,
    parent,
    children: [],
    mode: kind === 'directory' ? 0o40755 : 0o100644,
    mtime: defaults.mtime,
    uid: 0,
    gid: 0,
    size: 0,
  });
  const root = mk('', '', 'directory', undefined);
  const index = new Map<string, TreeNode>([['', root]]);
  const explicit = new Set<string>();
  for (const e of entries) {
    const parts = e.path.split('/').filter((p, i, a) => !(p === '' && (i === 0 || i === a.length - 1)));
    for (const p of parts) checkName(p, e.path);
    if (parts.length === 0)
      throw new IsoError('ISO_INVALID_NAME', `entry path "${e.path}" names the root`, { path: e.path });
    let parent = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const p = parts.slice(0, i + 1).join('/');
      let dir = index.get(p);
      if (!dir) {
        dir = mk(parts[i]!, p, 'directory', parent);
        parent.children.push(dir);
        index.set(p, dir);
      } else if (dir.kind !== 'directory') {
        throw new IsoError('ISO_INVALID_NAME', `"${e.path}": "${p}" is not a directory`, { path: e.path });
      }
      parent = dir;
    }
    const path = parts.join('/');
    const existing = index.get(path);
    if (explicit.has(path) || (existing && (existing.kind !== 'directory' || e.type !== 'directory'))) {
      throw new IsoError('ISO_NAME_COLLISION', `"${path}" is listed twice`, { path });
    }
    explicit.add(path);
    const node = existing ?? mk(parts[parts.length - 1]!, path, e.type, parent);
    if (!existing) {
      parent.children.push(node);
      index.set(path, node);
    }
    const typeBits = e.type === 'directory' ? 0o40000 : e.type === 'symlink' ? 0o120000 : 0o100000;
    node.mode =
      typeBits | ((e.mode ?? (e.type === 'directory' ? 0o755 : e.type === 'symlink' ? 0o777 : 0o644)) & 0o7777);
    node.uid = e.uid ?? 0;
    node.gid = e.gid ?? 0;
    // A fixed build date (option or SOURCE_DATE_EPOCH) applies to every entry: reproducible bytes.
    node.mtime = defaults.fixedDate ? defaults.mtime : (e.mtime ?? defaults.mtime);
    if (e.type === 'file') {
      node.data = e.data;
      node.size = dataSize(e.data);
    } else if (e.type === 'symlink') {
      if (e.target === '' || e.target.includes('\0'))
        throw new IsoError('ISO_INVALID_NAME', `symlink "${path}" has an empty or invalid target`, { path });
      node.target = e.target;
    }
  }
  return root;
}

/** Walks directories breadth-first (the path-table order once children are sorted). */
export function* directoriesBreadthFirst(
  root: TreeNode,
  childOrder: (dir: TreeNode) => TreeNode[],
): Generator<TreeNode> {
  const queue = [root];
  while (queue.length) {
    const d = queue.shift()!;
    yield d;
    for (const c of childOrder(d)) if (c.kind === 'directory') queue.push(c);
  }
}
