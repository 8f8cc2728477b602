import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHostShare, shareRootFor } from './host-share.js';

const tree = (files: string[]) => (p: string) => files.includes(p);

describe('shareRootFor', () => {
  it('shares the nearest project directory (package.json or .git), not only the config file’s', () => {
    const exists = tree(['/Users/me/src/mono/package.json', '/Users/me/src/mono/.git']);
    expect(
      shareRootFor('/Users/me/src/mono/apps/web/stack.config.ts', {
        home: '/Users/me',
        platform: 'linux',
        realpath: (p) => p,
        exists,
      }),
    ).toBe('/Users/me/src/mono');
    expect(
      shareRootFor('/Users/me/src/solo/stack.config.ts', {
        home: '/Users/me',
        platform: 'darwin',
        realpath: (p) => p,
        exists: tree(['/Users/me/src/solo/package.json']),
      }),
    ).toBe('/Users/me/src/solo');
  });

  it('without a project marker, the config file’s own directory', () => {
    expect(
      shareRootFor('/srv/app/config/stack.config.ts', {
        home: '/home/me',
        platform: 'linux',
        realpath: (p) => p,
        exists: tree([]),
      }),
    ).toBe('/srv/app/config');
  });

  it('never the home directory or / as a whole', () => {
    // package.json in the home itself does not make the home a project root.
    expect(
      shareRootFor('/home/me/app/stack.config.ts', {
        home: '/home/me',
        platform: 'linux',
        realpath: (p) => p,
        exists: tree(['/home/me/package.json']),
      }),
    ).toBe('/home/me/app');
    expect(() =>
      shareRootFor('/home/me/stack.config.ts', {
        home: '/home/me',
        platform: 'linux',
        realpath: (p) => p,
        exists: tree([]),
      }),
    ).toThrow(/sits directly in your home directory.*shared with the guest as a whole/);
    expect(() =>
      shareRootFor('/stack.config.ts', { home: '/home/me', platform: 'linux', realpath: (p) => p, exists: tree([]) }),
    ).toThrow(/the root directory/);
  });

  // Regression (issue 29, 10): with a symlinked home, `cd ~ && start --config-file stack.config.ts` shared
  // the real home directory, read-write, because the paths were compared as spelled.
  it('compares real paths: a home reached through a symlink is still the home', () => {
    const dir = mkdtempSync(join(tmpdir(), 'share-home-'));
    const realHome = join(dir, 'data', 'me');
    mkdirSync(realHome, { recursive: true });
    symlinkSync(realHome, join(dir, 'home-link'));
    writeFileSync(join(realHome, 'stack.config.ts'), '');
    expect(() =>
      shareRootFor(join(realHome, 'stack.config.ts'), { home: join(dir, 'home-link'), platform: 'linux' }),
    ).toThrow(/sits directly in your home directory/);
    expect(() =>
      shareRootFor(join(dir, 'home-link', 'stack.config.ts'), { home: realHome, platform: 'linux' }),
    ).toThrow(/sits directly in your home directory/);
  });

  it('on macOS a case variant of the home is the home (case-insensitive file system)', () => {
    expect(() =>
      shareRootFor('/users/ME/stack.config.ts', {
        home: '/Users/me',
        platform: 'darwin',
        realpath: (p) => p,
        exists: tree([]),
      }),
    ).toThrow(/sits directly in your home directory/);
    // Not on Linux, whose file names are case-sensitive: another directory.
    expect(
      shareRootFor('/home/ME/stack.config.ts', {
        home: '/home/me',
        platform: 'linux',
        realpath: (p) => p,
        exists: tree([]),
      }),
    ).toBe('/home/ME');
  });
});

describe('checkHostShare', () => {
  it('a folder macOS privacy protection keeps from the terminal names System Settings; elsewhere the permission', () => {
    // What macOS answers for ~/Documents without a grant: readdir fails with EPERM (root or not).
    const eperm = () => {
      throw Object.assign(new Error("EPERM: operation not permitted, scandir '/Users/me/Documents/app'"), {
        code: 'EPERM',
      });
    };
    expect(() => checkHostShare(tmpdir(), { platform: 'darwin', has9p: true, qemu: 'q', readdir: eperm })).toThrow(
      expect.objectContaining({
        code: 'HOST_SHARE_FAILED',
        hint: expect.stringContaining('Privacy & Security → Files and Folders'),
      }),
    );
    expect(() => checkHostShare(tmpdir(), { platform: 'linux', has9p: true, qemu: 'q', readdir: eperm })).toThrow(
      expect.objectContaining({ code: 'HOST_SHARE_FAILED', hint: expect.stringContaining('readable by this user') }),
    );
  });

  it('names the failure and the fix for a missing directory and for a QEMU without 9p', () => {
    expect(() => checkHostShare('/nonexistent/dir', { platform: 'linux', has9p: true, qemu: 'q' })).toThrow(
      expect.objectContaining({
        code: 'HOST_SHARE_FAILED',
        message: expect.stringContaining('cannot share /nonexistent/dir'),
      }),
    );
    expect(() =>
      checkHostShare(tmpdir(), { platform: 'darwin', has9p: false, qemu: '/opt/homebrew/bin/qemu-system-aarch64' }),
    ).toThrow(
      expect.objectContaining({ code: 'HOST_SHARE_FAILED', message: expect.stringContaining('has no virtio-9p-pci') }),
    );
    expect(() => checkHostShare(tmpdir(), { platform: 'linux', has9p: true, qemu: 'q' })).not.toThrow();
  });
});
