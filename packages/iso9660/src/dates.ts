// ECMA-119 dates. All dates are written in UTC (GMT offset 0).

/** 9.1.5: the 7-byte binary date of a directory record. */
export function encodeRecordDate(buf: Buffer, offset: number, date: Date): void {
  buf[offset] = Math.max(0, Math.min(255, date.getUTCFullYear() - 1900));
  buf[offset + 1] = date.getUTCMonth() + 1;
  buf[offset + 2] = date.getUTCDate();
  buf[offset + 3] = date.getUTCHours();
  buf[offset + 4] = date.getUTCMinutes();
  buf[offset + 5] = date.getUTCSeconds();
  buf[offset + 6] = 0;
}

export function decodeRecordDate(buf: Buffer, offset: number): Date {
  const tz = buf.readInt8(offset + 6) * 15 * 60_000;
  const utc = Date.UTC(
    1900 + buf[offset]!,
    buf[offset + 1]! - 1,
    buf[offset + 2],
    buf[offset + 3],
    buf[offset + 4],
    buf[offset + 5],
  );
  return new Date(utc - tz);
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** 8.4.26.1: the 17-byte volume date "YYYYMMDDHHMMSScc" + GMT offset; `undefined` writes "not specified". */
export function encodeVolumeDate(buf: Buffer, offset: number, date: Date | undefined): void {
  if (!date) {
    buf.write('0000000000000000', offset, 'ascii');
    buf[offset + 16] = 0;
    return;
  }
  const s =
    pad(date.getUTCFullYear(), 4) +
    pad(date.getUTCMonth() + 1, 2) +
    pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) +
    pad(date.getUTCMinutes(), 2) +
    pad(date.getUTCSeconds(), 2) +
    pad(Math.floor(date.getUTCMilliseconds() / 10), 2);
  buf.write(s, offset, 'ascii');
  buf[offset + 16] = 0;
}

export function decodeVolumeDate(buf: Buffer, offset: number): Date | undefined {
  const s = buf.toString('ascii', offset, offset + 16);
  if (!/^\d{16}$/.test(s) || s === '0000000000000000') return undefined;
  const tz = buf.readInt8(offset + 16) * 15 * 60_000;
  const n = (a: number, b: number) => Number(s.slice(a, b));
  return new Date(Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14), n(14, 16) * 10) - tz);
}

/** The build date: the option, else SOURCE_DATE_EPOCH (reproducible-builds.org), else now. */
export function resolveDate(
  date: Date | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { date: Date; fixed: boolean } {
  if (date) return { date, fixed: true };
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && epoch !== '') {
    if (!/^\d+$/.test(epoch)) throw new RangeError(`SOURCE_DATE_EPOCH="${epoch}" must be whole seconds since 1970`);
    return { date: new Date(Number(epoch) * 1000), fixed: true };
  }
  return { date: new Date(), fixed: false };
}
