import { chmodSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSocketPath, ensureSocketDir, maxSocketPathBytes, socketDirFor } from './socket-dir.js';

const longHome = `/home/${'a-rather-long-user-name'}/${'x'.repeat(60)}/.stack/emulator`;

describe('socket directories', () => {
  it('limits: 107 bytes on Linux, 103 on macOS', () => {
    expect(maxSocketPathBytes('linux')).toBe(107);
    expect(maxSocketPathBytes('darwin')).toBe(103);
    expect(() => checkSocketPath(`/${'a'.repeat(106)}`, 'linux')).not.toThrow();
    expect(() => checkSocketPath(`/${'a'.repeat(107)}`, 'linux')).toThrow(
      /is 108 bytes, more than the 107 linux allows; set TMPDIR/,
    );
    expect(() => checkSocketPath(`/${'a'.repeat(103)}`, 'darwin')).toThrow(
      /104 bytes, more than the 103 darwin allows/,
    );
  });

  it('a long home still gets short socket paths, on Linux and on macOS', () => {
    for (const platform of ['linux', 'darwin'] as const) {
      const dir = socketDirFor(longHome, { platform, env: {}, uid: 501 });
      expect(dir).toMatch(/^\/tmp\/stack-emulator-501\/[0-9a-f]{12}$/);
      expect(() => checkSocketPath(join(dir, 'monitor.sock'), platform)).not.toThrow();
    }
    expect(socketDirFor(longHome, { env: { XDG_RUNTIME_DIR: '/run/user/1000' } })).toMatch(
      /^\/run\/user\/1000\/stack-emulator\/[0-9a-f]{12}$/,
    );
    // A runtime dir too long to help is not used.
    expect(socketDirFor(longHome, { env: { XDG_RUNTIME_DIR: `/${'r'.repeat(60)}` }, uid: 7 })).toMatch(
      /^\/tmp\/stack-emulator-7\//,
    );
    expect(socketDirFor('/a')).not.toBe(socketDirFor('/b'));
  });

  it('creates a private directory, and refuses one another user (or a symlink) could control', () => {
    const base = mkdtempSync(join(tmpdir(), 'sockdir-'));
    const dir = join(base, 'parent', 'id');
    ensureSocketDir(dir);
    ensureSocketDir(dir); // idempotent
    const open = join(base, 'open', 'id');
    mkdirSync(open, { recursive: true });
    chmodSync(join(base, 'open'), 0o777);
    expect(() => ensureSocketDir(open)).toThrow(/is not a private directory of this user/);
    mkdirSync(join(base, 'target', 'id'), { recursive: true, mode: 0o700 });
    chmodSync(join(base, 'target'), 0o700);
    symlinkSync(join(base, 'target'), join(base, 'link'));
    expect(() => ensureSocketDir(join(base, 'link', 'id'))).toThrow(/not a private directory/);
    expect(() => ensureSocketDir(dir, { uid: 12345 })).toThrow(/owned by uid 12345/);
  });
});
