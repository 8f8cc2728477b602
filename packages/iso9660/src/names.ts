import { IsoError } from './errors.js';

// ECMA-119 7.4.1: d-characters.
const D_CHARS = /[^A-Z0-9_]/g;
/** ISO 9660 level 2/3 limits (7.5.2, 7.6.3): name + extension <= 30; directory identifier <= 31. */
const MAX_FILE_ID = 30;
const MAX_DIR_ID = 31;
/** Joliet: identifiers up to 64 UCS-2 characters (128 bytes). */
const MAX_JOLIET = 64;
/** Characters Joliet forbids besides U+0000–U+001F. */
const JOLIET_FORBIDDEN = /[*/:;?\\\u0000-\u001f]/;

function dchars(s: string): string {
  return s.toUpperCase().replace(D_CHARS, '_');
}

/**
 * The primary (ISO 9660) identifier for a name before de-duplication: upper-cased d-characters,
 * files as `NAME.EXT;1` (the separator is always present, 7.5.1), directories without separator.
 */
function isoBaseName(name: string, isDir: boolean): { stem: string; ext: string } {
  if (isDir) return { stem: dchars(name).slice(0, MAX_DIR_ID), ext: '' };
  const dot = name.lastIndexOf('.');
  let stem = dchars(dot > 0 ? name.slice(0, dot) : name);
  let ext = dot > 0 ? dchars(name.slice(dot + 1)) : '';
  if (ext.length > 8) ext = ext.slice(0, 8);
  if (stem.length + ext.length > MAX_FILE_ID) stem = stem.slice(0, MAX_FILE_ID - ext.length);
  if (stem === '' && ext === '') stem = '_';
  return { stem, ext };
}

function formatIsoId(stem: string, ext: string, isDir: boolean): string {
  return isDir ? stem : `${stem}.${ext};1`;
}

/**
 * Assigns collision-free primary identifiers to the names of one directory, deterministically: names
 * are processed in code-point order and a clash replaces the end of the stem with a counter.
 */
export function assignIsoIds(children: ReadonlyArray<{ name: string; isDir: boolean }>): Map<string, string> {
  const order = [...children].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const c of order) {
    const { stem, ext } = isoBaseName(c.name, c.isDir);
    let id = formatIsoId(stem, ext, c.isDir);
    const max = c.isDir ? MAX_DIR_ID : MAX_FILE_ID - ext.length;
    for (let n = 1; used.has(id); n++) {
      const counter = String(n);
      const s = stem.slice(0, Math.max(1, max - counter.length)) + counter;
      id = formatIsoId(s, ext, c.isDir);
    }
    used.add(id);
    out.set(c.name, id);
  }
  return out;
}

/**
 * Joliet identifiers (UCS-2 big-endian; characters outside the BMP as UTF-16 pairs, which Linux
 * decodes). Names over 64 units or with forbidden characters have no faithful Joliet form: with
 * Rock Ridge (which carries the real name) they are shortened deterministically, without it refused.
 */
export function assignJolietIds(
  children: ReadonlyArray<{ name: string }>,
  rockRidge: boolean,
  dirPath: string,
): Map<string, string> {
  const order = [...children].map((c) => c.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const name of order) {
    let id = name;
    const faithful = id.length <= MAX_JOLIET && !JOLIET_FORBIDDEN.test(id);
    if (!faithful) {
      const path = `${dirPath}/${name}`.replace(/^\/+/, '/');
      if (!rockRidge) {
        const why =
          id.length > MAX_JOLIET
            ? `is ${id.length} UTF-16 units long; Joliet allows ${MAX_JOLIET}`
            : 'has a character Joliet forbids (* / : ; ? \\ or a control character)';
        throw new IsoError(
          'ISO_INVALID_NAME',
          `"${path}" ${why}: enable Rock Ridge (--rock-ridge) to keep the full name, or rename it`,
          { path },
        );
      }
      id = id.replace(new RegExp(JOLIET_FORBIDDEN.source, 'g'), '_');
      if (id.length > MAX_JOLIET) id = truncateUtf16(id, MAX_JOLIET);
    }
    for (let n = 1; used.has(id); n++) {
      const suffix = `~${n}`;
      id = truncateUtf16(id, MAX_JOLIET - suffix.length) + suffix;
    }
    used.add(id);
    out.set(name, id);
  }
  return out;
}

/** Cuts to at most `max` UTF-16 units without splitting a surrogate pair. */
function truncateUtf16(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = s.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cut;
}

export function encodeUcs2(s: string): Buffer {
  const b = Buffer.from(s, 'utf16le');
  return b.swap16();
}

export function decodeUcs2(b: Buffer): string {
  const copy = Buffer.from(b.subarray(0, b.length & ~1));
  return copy.swap16().toString('utf16le');
}

/**
 * ECMA-119 9.3 ordering of identifiers in a directory: compare the names (padded with spaces), then the
 * extensions, then versions. Joliet identifiers are compared the same way on their UCS-2 code units.
 */
export function compareIdentifiers(a: string, b: string): number {
  return compareIdentifierKeys(identifierKey(a), identifierKey(b));
}

/** An identifier split for sorting: name and extension, without the version. */
export type IdentifierKey = readonly [name: string, ext: string];

export function identifierKey(s: string): IdentifierKey {
  const semi = s.lastIndexOf(';');
  const base = semi >= 0 ? s.slice(0, semi) : s;
  const dot = base.lastIndexOf('.');
  return dot >= 0 ? [base.slice(0, dot), base.slice(dot + 1)] : [base, ''];
}

/** {@link compareIdentifiers} on keys split once up front (a sort compares each name log n times). */
export function compareIdentifierKeys(a: IdentifierKey, b: IdentifierKey): number {
  return comparePadded(a[0], b[0]) || comparePadded(a[1], b[1]);
}

function comparePadded(a: string, b: string): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = i < a.length ? a.charCodeAt(i) : 0x20;
    const y = i < b.length ? b.charCodeAt(i) : 0x20;
    if (x !== y) return x - y;
  }
  return 0;
}

/** ISO 9660 d-characters for a volume identifier (max 32); Joliet keeps the original (max 16). */
export function volumeIds(volumeId: string): { primary: string; joliet: string } {
  if (volumeId.length === 0 || volumeId.length > 32) {
    throw new IsoError(
      'ISO_INVALID_OPTION',
      `volume id "${volumeId}" has ${volumeId.length} characters; it must not be empty and may be at most 32 characters`,
    );
  }
  return { primary: dchars(volumeId), joliet: truncateUtf16(volumeId, 16) };
}
