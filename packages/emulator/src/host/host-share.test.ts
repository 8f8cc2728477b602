import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { checkHostShare, shareRootFor } from './host-share.js';

const tree = (files: string[]) => (p: string) => files.includes(p);

describe('shareRootFor', () => {
  it('shares the nearest project directory (package.json or .git), not only the config file’s', () => {
    const exists = tree(['/Users/me/src/mono/package.json', '/Users/me/src/mono/.git']);
    expect(shareRootFor('/Users/me/src/mono/apps/web/stack.config.ts', { home: '/Users/me', exists })).toBe(
      '/Users/me/src/mono',
    );
    expect(
      shareRootFor('/Users/me/src/solo/stack.config.ts', {
        home: '/Users/me',
        exists: tree(['/Users/me/src/solo/package.json']),
      }),
    ).toBe('/Users/me/src/solo');
  });

  it('without a project marker, the config file’s own directory', () => {
    expect(shareRootFor('/srv/app/config/stack.config.ts', { home: '/home/me', exists: tree([]) })).toBe(
      '/srv/app/config',
    );
  });

  it('never the home directory or / as a whole', () => {
    // package.json in the home itself does not make the home a project root.
    expect(
      shareRootFor('/home/me/app/stack.config.ts', { home: '/home/me', exists: tree(['/home/me/package.json']) }),
    ).toBe('/home/me/app');
    expect(() => shareRootFor('/home/me/stack.config.ts', { home: '/home/me', exists: tree([]) })).toThrow(
      /sits directly in your home directory.*shared with the guest as a whole/,
    );
    expect(() => shareRootFor('/stack.config.ts', { home: '/home/me', exists: tree([]) })).toThrow(
      /the root directory/,
    );
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
