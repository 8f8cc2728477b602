import { describe, expect, it } from 'vitest';
import { nmEntries, parseSystemUse, pxEntry, type RockRidgeInfo, slEntries, tfEntry } from './rock-ridge.js';

const parse = (entries: Buffer[]) => {
  const info: RockRidgeInfo = {};
  parseSystemUse(Buffer.concat(entries), info, 'test');
  return info;
};

describe('Rock Ridge entries', () => {
  it('round-trips mode, owner and time', () => {
    const t = new Date('2026-03-04T05:06:07Z');
    const info = parse([pxEntry(0o100755, 1, 1000, 100), tfEntry(t)]);
    expect(info).toMatchObject({ mode: 0o100755, uid: 1000, gid: 100, nlink: 1, mtime: t });
  });

  it('splits a 255-byte name over continued NM entries', () => {
    const name = 'n'.repeat(255);
    const entries = nmEntries(name);
    expect(entries.length).toBe(2);
    expect(entries[0]![4]).toBe(1); // CONTINUE flag
    expect(parse(entries).name).toBe(name);
  });

  it.each(['/abs/path/to/file', '../up/./here', 'relative', '/', 'a/../../b', `/${'c'.repeat(300)}/d`])(
    'round-trips symlink target %s',
    (target) => {
      expect(parse(slEntries(target)).symlink).toBe(target);
    },
  );
});
