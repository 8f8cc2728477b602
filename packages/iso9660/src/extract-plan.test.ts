import { describe, expect, it } from 'vitest';
import { planExtraction } from './extract-plan.js';
import type { IsoListing } from './reader.js';

const mtime = new Date(0);
const dir = (path: string): IsoListing => ({ path, type: 'directory', size: 0, mode: 0o755, mtime, extents: [] });
const file = (path: string): IsoListing => ({ path, type: 'file', size: 0, mode: 0o644, mtime, extents: [] });
const link = (path: string, target: string): IsoListing => ({
  path,
  type: 'symlink',
  size: 0,
  mode: 0o777,
  mtime,
  target,
  extents: [],
});
const plan =
  (listing: IsoListing[], keepEscapingSymlinks = false) =>
  () =>
    planExtraction(listing, { keepEscapingSymlinks });

describe('planExtraction', () => {
  it('orders directories, then files, then symlinks', () => {
    const p = planExtraction([link('/l', 'd/f'), dir('/d'), file('/d/f')], { keepEscapingSymlinks: false });
    expect(p.directories.map((e) => e.path)).toEqual(['/d']);
    expect(p.files.map((e) => e.path)).toEqual(['/d/f']);
    expect(p.symlinks.map((e) => e.path)).toEqual(['/l']);
  });

  it('refuses duplicate names, whatever their types', () => {
    expect(plan([link('/a', '/tmp'), dir('/a'), file('/a/x')])).toThrow(
      expect.objectContaining({ code: 'ISO_NAME_COLLISION', path: '/a' }),
    );
    expect(plan([file('/a'), file('/a')])).toThrow(expect.objectContaining({ code: 'ISO_NAME_COLLISION' }));
  });

  it('refuses entries below a symlink, a file or nothing, and unsafe names', () => {
    for (const listing of [
      [link('/a', 'b'), file('/a/x')],
      [file('/a'), file('/a/x')],
      [file('/missing/x')],
      [dir('/a'), file('/a/../x')],
      [file('relative')],
    ])
      expect(plan(listing)).toThrow(expect.objectContaining({ code: 'ISO_UNSAFE_ENTRY' }));
  });

  it('refuses escaping symlinks unless asked to keep them', () => {
    expect(plan([dir('/d'), link('/d/l', '../../x')])).toThrow(
      expect.objectContaining({ code: 'ISO_UNSAFE_ENTRY', path: '/d/l', message: expect.stringContaining('..') }),
    );
    expect(plan([dir('/d'), link('/d/l', '../../x')], true)().symlinks).toHaveLength(1);
  });
});
