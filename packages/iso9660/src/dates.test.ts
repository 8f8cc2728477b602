import { describe, expect, it } from 'vitest';
import { decodeRecordDate, decodeVolumeDate, encodeRecordDate, encodeVolumeDate, resolveDate } from './dates.js';

describe('ECMA-119 dates', () => {
  it('round-trips record (9.1.5) and volume (8.4.26.1) dates in UTC', () => {
    const d = new Date('2026-11-22T19:20:31.450Z');
    const b = Buffer.alloc(17);
    encodeRecordDate(b, 0, d);
    expect([...b.subarray(0, 7)]).toEqual([126, 11, 22, 19, 20, 31, 0]);
    expect(decodeRecordDate(b, 0).toISOString()).toBe('2026-11-22T19:20:31.000Z');
    encodeVolumeDate(b, 0, d);
    expect(b.toString('ascii', 0, 16)).toBe('2026112219203145');
    expect(decodeVolumeDate(b, 0)?.toISOString()).toBe('2026-11-22T19:20:31.450Z');
    encodeVolumeDate(b, 0, undefined);
    expect(decodeVolumeDate(b, 0)).toBeUndefined();
  });
  it('takes the date from the option, then SOURCE_DATE_EPOCH, and rejects a bad epoch', () => {
    expect(resolveDate(undefined, { SOURCE_DATE_EPOCH: '86400' }).date.toISOString()).toBe('1970-01-02T00:00:00.000Z');
    expect(resolveDate(new Date(0), { SOURCE_DATE_EPOCH: '86400' }).date.getTime()).toBe(0);
    expect(resolveDate(undefined, {}).fixed).toBe(false);
    expect(() => resolveDate(undefined, { SOURCE_DATE_EPOCH: 'soon' })).toThrow(/SOURCE_DATE_EPOCH="soon"/);
  });
});
