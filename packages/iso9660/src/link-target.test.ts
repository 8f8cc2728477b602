import { describe, expect, it } from 'vitest';
import { linkEscape } from './link-target.js';

const escape = (link: string, links: Record<string, string>) => linkEscape(link, new Map(Object.entries(links)));

describe('linkEscape', () => {
  it('keeps targets that stay below the root, however they are spelled', () => {
    expect(escape('/a/l', { '/a/l': '../b/./c' })).toBeUndefined();
    expect(escape('/a/b/l', { '/a/b/l': '../../x' })).toBeUndefined();
    expect(escape('/l', { '/l': '.' })).toBeUndefined();
    // Through another link that goes deeper: d/.. is /a/b, still inside.
    expect(escape('/a/l', { '/a/l': 'd/../..', '/a/d': 'b/c' })).toBeUndefined();
  });

  it('finds absolute targets and ../ past the root, also through other links', () => {
    expect(escape('/l', { '/l': '/etc' })).toBe('absolute');
    expect(escape('/a/l', { '/a/l': '../..' })).toBe('parent');
    expect(escape('/a/l', { '/a/l': 'x/../../..' })).toBe('parent');
    expect(escape('/l', { '/l': 'abs/x', '/abs': '/tmp' })).toBe('absolute');
    // Lexically `s/..` is the root; the kernel resolves s first (the root) and then goes above it.
    expect(escape('/t', { '/t': 's/..', '/s': '.' })).toBe('parent');
    expect(escape('/a/t', { '/a/t': 'up/x', '/a/up': '../..' })).toBe('parent');
  });

  it('gives up on loops (the kernel would: ELOOP)', () => {
    expect(escape('/l', { '/l': 'l/x' })).toBe('loop');
    expect(escape('/a', { '/a': 'b', '/b': 'a' })).toBe('loop');
  });
});
