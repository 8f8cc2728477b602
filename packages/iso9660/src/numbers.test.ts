import { describe, expect, it } from 'vitest';
import { readU16both, readU32both, u16both, u32both } from './numbers.js';

describe('ECMA-119 both-endian fields', () => {
  it('writes 32-bit values LE then BE (7.3.3)', () => {
    const b = Buffer.alloc(8);
    u32both(b, 0, 0x01020304);
    expect([...b]).toEqual([4, 3, 2, 1, 1, 2, 3, 4]);
    expect(readU32both(b, 0)).toBe(0x01020304);
  });
  it('writes 16-bit values LE then BE (7.2.3)', () => {
    const b = Buffer.alloc(4);
    u16both(b, 0, 0x0102);
    expect([...b]).toEqual([2, 1, 1, 2]);
    expect(readU16both(b, 0)).toBe(0x0102);
  });
  it('detects halves that disagree', () => {
    const b = Buffer.from([1, 0, 0, 0, 0, 0, 0, 2]);
    expect(() => readU32both(b, 0)).toThrow(/disagrees: LE 1, BE 2/);
  });
});
