import { describe, expect, it } from 'vitest';
import { digestsEqual, parseDigest, parseSha256Sidecar, sidecarUrl } from './digest.js';

const hex = 'a'.repeat(64);

describe('digests', () => {
  it('parses prefixed, bare and upper-case digests, and null as "none"', () => {
    expect(parseDigest(`sha256:${hex}`)).toBe(hex);
    expect(parseDigest(hex.toUpperCase())).toBe(hex);
    expect(parseDigest(null)).toBeUndefined();
    expect(() => parseDigest('sha1:abc')).toThrow(/not a sha256 digest: "sha1:abc"/);
  });

  it('reads sha256sum sidecars by file name', () => {
    const b = 'b'.repeat(64);
    const text = `${hex}  stack-emulator-amd64.qcow2\n${b} *stack-emulator-arm64.qcow2\n`;
    expect(parseSha256Sidecar(text, 'stack-emulator-arm64.qcow2')).toBe(b);
    expect(parseSha256Sidecar(text, 'other')).toBeUndefined();
    expect(parseSha256Sidecar(`${hex}\n`, 'anything')).toBe(hex);
  });

  it('puts the sidecar beside the path, not at the end of a query', () => {
    expect(sidecarUrl('https://h/a/x.qcow2')).toBe('https://h/a/x.qcow2.sha256');
    expect(sidecarUrl('https://h/x.qcow2?token=abc&v=1')).toBe('https://h/x.qcow2.sha256?token=abc&v=1');
    expect(sidecarUrl('https://h/x.qcow2#frag')).toBe('https://h/x.qcow2.sha256');
  });

  it('compares digests', () => {
    const d = parseDigest('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')!;
    expect(digestsEqual(d, parseDigest(d)!)).toBe(true);
    expect(digestsEqual(d, parseDigest(hex)!)).toBe(false);
  });
});
