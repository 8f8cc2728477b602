import { describe, expect, it } from 'vitest';
import { assignIsoIds, assignJolietIds, compareIdentifiers, decodeUcs2, encodeUcs2, volumeIds } from './names.js';

describe('ISO 9660 names', () => {
  it('maps to d-characters with the separator and version (ECMA-119 7.5)', () => {
    const ids = assignIsoIds([
      { name: 'user-data', isDir: false },
      { name: 'README', isDir: false },
      { name: 'lib.so.1', isDir: false },
      { name: 'my dir', isDir: true },
    ]);
    expect(ids.get('user-data')).toBe('USER_DATA.;1');
    expect(ids.get('README')).toBe('README.;1');
    expect(ids.get('lib.so.1')).toBe('LIB_SO.1;1');
    expect(ids.get('my dir')).toBe('MY_DIR');
  });

  it('resolves collisions deterministically, whatever the input order', () => {
    const names = ['a.txt', 'A.txt', 'a-txt', 'a_txt'].map((name) => ({ name, isDir: false }));
    const one = assignIsoIds(names);
    const two = assignIsoIds([...names].reverse());
    expect(one).toEqual(two);
    expect(new Set(one.values()).size).toBe(4);
  });

  it('keeps long names within 30 characters and unique', () => {
    const names = Array.from({ length: 20 }, (_, i) => ({
      name: `a-very-long-file-name-that-goes-on-${i}.conf`,
      isDir: false,
    }));
    const ids = [...assignIsoIds(names).values()];
    expect(new Set(ids).size).toBe(20);
    for (const id of ids) expect(id.replace(/;1$/, '').replace('.', '').length).toBeLessThanOrEqual(30);
  });

  it('orders identifiers by padded name, then extension (ECMA-119 9.3), not by raw bytes', () => {
    // Byte order would put "A1.;1" before "A.;1" because ';' > '1'; padding puts "A" first.
    expect(['A1.;1', 'A.;1', 'B.;1', 'A.B;1'].sort(compareIdentifiers)).toEqual(['A.;1', 'A.B;1', 'A1.;1', 'B.;1']);
  });
});

describe('Joliet names', () => {
  it('keeps names up to 64 units and encodes UCS-2 big-endian', () => {
    const name = 'Ünïcødé-😀';
    expect(assignJolietIds([{ name }], false, '').get(name)).toBe(name);
    expect(decodeUcs2(encodeUcs2(name))).toBe(name);
    expect([...encodeUcs2('A')]).toEqual([0, 0x41]);
  });

  it('refuses names it cannot represent without Rock Ridge, naming the path and the fix', () => {
    expect(() => assignJolietIds([{ name: 'x'.repeat(65) }], false, '/dir')).toThrow(
      /"\/dir\/x{65}" is 65 UTF-16 units long; Joliet allows 64: enable Rock Ridge/,
    );
    expect(() => assignJolietIds([{ name: 'a:b' }], false, '')).toThrow(/character Joliet forbids/);
  });

  it('shortens them deterministically, without collisions, when Rock Ridge carries the real name', () => {
    const names = ['x'.repeat(70), `${'x'.repeat(64)}y`, 'a:b', 'a_b'].map((name) => ({ name }));
    const ids = assignJolietIds(names, true, '');
    expect(new Set(ids.values()).size).toBe(4);
    for (const id of ids.values()) expect(id.length).toBeLessThanOrEqual(64);
  });

  it('labels: d-characters in the primary descriptor, the original in Joliet', () => {
    expect(volumeIds('cidata')).toEqual({ primary: 'CIDATA', joliet: 'cidata' });
    expect(() => volumeIds('x'.repeat(33))).toThrow(/has 33 characters; .* at most 32 characters/);
  });
});
