import { timingSafeEqual } from 'node:crypto';

/** A sha256 digest as 64 lowercase hex characters. */
export type Sha256 = string & { readonly __sha256: unique symbol };

/**
 * Reads a sha256 digest given as `sha256:<hex>` (GitHub's release asset `digest` field) or bare hex.
 * Returns undefined for `null`/empty (assets uploaded before GitHub computed digests have none).
 */
export function parseDigest(value: string | null | undefined): Sha256 | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const m = /^(?:sha256:)?([0-9a-fA-F]{64})$/.exec(value.trim());
  if (!m)
    throw new TypeError(`not a sha256 digest: "${value}" (expected 64 hex characters, optionally prefixed "sha256:")`);
  return m[1]!.toLowerCase() as Sha256;
}

/**
 * Finds the digest of `fileName` in a `sha256sum`-style sidecar ("<hex>  name" or "<hex> *name"). A
 * sidecar with a single bare digest applies to any name.
 */
export function parseSha256Sidecar(text: string, fileName: string): Sha256 | undefined {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length === 1 && /^[0-9a-fA-F]{64}$/.test(lines[0]!)) return parseDigest(lines[0]);
  for (const line of lines) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(.+)$/.exec(line);
    if (m && (m[2] === fileName || m[2]!.endsWith(`/${fileName}`))) return parseDigest(m[1]);
  }
  return undefined;
}

/**
 * Where a URL's `sha256sum` sidecar lives: `.sha256` appended to the path, the query kept
 * (`https://h/x.qcow2?t=1` -> `https://h/x.qcow2.sha256?t=1`, not `...?t=1.sha256`).
 */
export function sidecarUrl(url: string): string {
  const u = new URL(url);
  u.pathname = `${u.pathname}.sha256`;
  u.hash = '';
  return u.toString();
}

/** Constant-time comparison of two digests. */
export function digestsEqual(a: Sha256, b: Sha256): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
