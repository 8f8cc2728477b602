// Numeric field encodings of ECMA-119 section 7. Every helper writes into `buf` at `offset`.

/** 7.2.1 / 7.3.1: little-endian only. */
export function u16le(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt16LE(value, offset);
}
export function u32le(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value, offset);
}

/** 7.2.2 / 7.3.2: big-endian only (used by the M path table). */
export function u16be(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt16BE(value, offset);
}
export function u32be(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32BE(value, offset);
}

/** 7.2.3: both-byte orders, 16 bits: little-endian then big-endian (4 bytes). */
export function u16both(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt16LE(value, offset);
  buf.writeUInt16BE(value, offset + 2);
}

/** 7.3.3: both-byte orders, 32 bits: little-endian then big-endian (8 bytes). */
export function u32both(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value, offset);
  buf.writeUInt32BE(value, offset + 4);
}

/** Reads a both-endian 32-bit field, checking that both halves agree (a cheap corruption check). */
export function readU32both(buf: Buffer, offset: number): number {
  const le = buf.readUInt32LE(offset);
  const be = buf.readUInt32BE(offset + 4);
  if (le !== be) throw new RangeError(`both-endian field at ${offset} disagrees: LE ${le}, BE ${be}`);
  return le;
}

/** Reads a both-endian 16-bit field, checking that both halves agree. */
export function readU16both(buf: Buffer, offset: number): number {
  const le = buf.readUInt16LE(offset);
  const be = buf.readUInt16BE(offset + 2);
  if (le !== be) throw new RangeError(`both-endian field at ${offset} disagrees: LE ${le}, BE ${be}`);
  return le;
}
