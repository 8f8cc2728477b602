import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingShares, parseSharesEnv, resolveWideShares, type WideShareOptions } from './wide-shares.js';

/** A file system of directories (and files) named by their real paths; `links` maps a link to its target. */
function fs(dirsAndFiles: { dirs: string[]; files?: string[]; links?: Record<string, string> }) {
  const real = (p: string) => {
    for (const [link, to] of Object.entries(dirsAndFiles.links ?? {}))
      if (p === link || p.startsWith(`${link}/`)) return to + p.slice(link.length);
    return p;
  };
  return {
    realpath: (p: string) => {
      const r = real(p);
      if (!dirsAndFiles.dirs.includes(r) && !(dirsAndFiles.files ?? []).includes(r)) throw new Error(`ENOENT ${p}`);
      return r;
    },
    stat: (p: string) => {
      const r = real(p);
      if (dirsAndFiles.dirs.includes(r)) return { isDirectory: () => true };
      if ((dirsAndFiles.files ?? []).includes(r)) return { isDirectory: () => false };
      return undefined;
    },
  };
}

const base = (over: Partial<WideShareOptions> = {}): WideShareOptions => ({
  home: '/home/me',
  emulatorHome: '/home/me/.stack/emulator',
  platform: 'linux',
  confirmed: false,
  ...fs({
    dirs: ['/', '/home', '/home/me', '/home/me/.stack', '/home/me/.stack/emulator', '/home/me/src/a', '/tmp/x'],
  }),
  ...over,
});

const shares = (rw: string[], ro: string[] = []) => ({ shares: rw, readonlyShares: ro });

describe('parseSharesEnv (EMULATOR_SHARES)', () => {
  it('splits on the path delimiter, trims, and skips empty entries', () => {
    expect(parseSharesEnv('/a:/b c: :/d:', ':')).toEqual(['/a', '/b c', '/d']);
    expect(parseSharesEnv('C:\\a;D:\\b', ';')).toEqual(['C:\\a', 'D:\\b']);
    expect(parseSharesEnv(undefined, ':')).toEqual([]);
    expect(parseSharesEnv('', ':')).toEqual([]);
  });
});

describe('resolveWideShares', () => {
  it('shares directories by their real path, read-write or read-only; read-write wins for one given both ways', () => {
    const r = resolveWideShares(shares(['/home/me/src/a', '/tmp/x'], ['/tmp/x', '/home/me/src/a/']), base());
    expect(r).toEqual({
      shares: [
        { dir: '/home/me/src/a', readonly: false },
        { dir: '/tmp/x', readonly: false },
      ],
      warnings: [],
    });
    expect(resolveWideShares(shares([], ['/tmp/x']), base()).shares).toEqual([{ dir: '/tmp/x', readonly: true }]);
  });

  it('refuses what is not there, and a file, naming the flag, the value and the fix', () => {
    expect(() => resolveWideShares(shares(['/nope']), base())).toThrow(
      expect.objectContaining({ code: 'SHARE_INVALID', message: '--share /nope: no such directory (/nope)' }),
    );
    expect(() => resolveWideShares({ ...shares([]), envShares: ['/nope'] }, base())).toThrow(
      'EMULATOR_SHARES entry /nope: no such directory',
    );
    const withFile = base(fs({ dirs: ['/srv'], files: ['/srv/stack.config.ts'] }));
    expect(() => resolveWideShares(shares([], ['/srv/stack.config.ts']), withFile)).toThrow(
      expect.objectContaining({
        code: 'SHARE_INVALID',
        message: expect.stringContaining('--share-readonly /srv/stack.config.ts: not a directory'),
        hint: expect.stringContaining('--share-readonly /srv'),
      }),
    );
  });

  it.each([
    ['/', 'the root directory'],
    ['/home/me', 'your whole home directory'],
    ['/home', 'the emulator home'],
    ['/home/me/.stack', 'the emulator home'],
    ['/home/me/.stack/emulator', 'the emulator home'],
  ])('refuses %s (%s) unless confirmed', (dir, what) => {
    expect(() => resolveWideShares(shares([dir]), base())).toThrow(
      expect.objectContaining({
        code: 'SHARE_TOO_WIDE',
        message: expect.stringContaining(`would share ${what}`),
        hint: expect.stringContaining('--yes'),
      }),
    );
    expect(() => resolveWideShares(shares([], [dir]), base())).toThrow(
      expect.objectContaining({ code: 'SHARE_TOO_WIDE' }),
    );
  });

  it('confirmed, shares it with a warning that says what and how', () => {
    const r = resolveWideShares(shares(['/'], ['/home/me']), base({ confirmed: true }));
    expect(r.shares).toEqual([
      { dir: '/', readonly: false },
      { dir: '/home/me', readonly: true },
    ]);
    expect(r.warnings).toEqual([
      expect.stringMatching(/^sharing \/ \(the root directory\) with the guest read-write, as confirmed/),
      expect.stringMatching(/^sharing \/home\/me \(your whole home directory\) with the guest read-only/),
    ]);
  });

  it('a symlink to the home is the home: refused the same way, and named', () => {
    const o = base(fs({ dirs: ['/home/me', '/home/me/.stack/emulator'], links: { '/tmp/link': '/home/me' } }));
    expect(() => resolveWideShares(shares(['/tmp/link']), o)).toThrow(
      expect.objectContaining({
        code: 'SHARE_TOO_WIDE',
        message:
          '--share /tmp/link would share your whole home directory (/tmp/link is /home/me) with the guest, read-write',
      }),
    );
  });

  it('a home reached through a symlink is still the home (real paths on both sides)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wide-home-'));
    const realHome = join(dir, 'data', 'me');
    mkdirSync(join(realHome, 'src'), { recursive: true });
    symlinkSync(realHome, join(dir, 'home-link'));
    writeFileSync(join(realHome, 'f'), '');
    const o = {
      home: join(dir, 'home-link'),
      emulatorHome: join(dir, 'emu'),
      platform: 'linux' as const,
      confirmed: false,
    };
    expect(() => resolveWideShares(shares([realHome]), o)).toThrow(expect.objectContaining({ code: 'SHARE_TOO_WIDE' }));
    expect(() => resolveWideShares(shares([join(dir, 'home-link')]), { ...o, home: realHome })).toThrow(
      expect.objectContaining({ code: 'SHARE_TOO_WIDE' }),
    );
    expect(resolveWideShares(shares([join(dir, 'home-link', 'src')]), o).shares).toEqual([
      { dir: join(realHome, 'src'), readonly: false },
    ]);
  });

  it('on macOS a case variant of the home or the emulator home is refused; on Linux another case is another directory', () => {
    const mac = base({
      home: '/Users/Me',
      emulatorHome: '/Users/Me/.stack/emulator',
      platform: 'darwin',
      ...fs({ dirs: ['/users/me', '/USERS/ME/.STACK', '/Users/Me/.stack/emulator'] }),
    });
    expect(() => resolveWideShares(shares(['/users/me']), mac)).toThrow(/your whole home directory/);
    expect(() => resolveWideShares(shares(['/USERS/ME/.STACK']), mac)).toThrow(/the emulator home/);
    const linux = base({ ...mac, platform: 'linux' });
    expect(resolveWideShares(shares(['/users/me']), linux).shares).toEqual([{ dir: '/users/me', readonly: false }]);
  });

  it('more directories than the VM has slots (with the project) is refused before any boot', () => {
    const many = ['/s/1', '/s/2', '/s/3', '/s/4'];
    const o = base(fs({ dirs: [...many, '/p'] }));
    expect(resolveWideShares(shares(many), o).shares).toHaveLength(4);
    expect(() => resolveWideShares(shares(many), { ...o, alsoShared: ['/p'] })).toThrow(
      expect.objectContaining({ code: 'SHARE_INVALID', message: expect.stringContaining('5 directories to share') }),
    );
    // The project given again as --share takes no slot of its own.
    expect(resolveWideShares(shares(['/p', ...many.slice(1)]), { ...o, alsoShared: ['/p'] }).shares).toHaveLength(4);
  });
});

describe('missingShares', () => {
  const ro = (dir: string) => ({ dir, readonly: true });
  const rw = (dir: string) => ({ dir, readonly: false });
  it('a directory in a read-write share is served; in a read-only one, only when read-only is asked', () => {
    expect(missingShares([rw('/a'), rw('/a/b'), ro('/a/c')], ['/a'], [])).toEqual([]);
    expect(missingShares([rw('/r/x'), ro('/r/y')], ['/r'], ['/r'])).toEqual([rw('/r/x')]);
    expect(missingShares([rw('/ab')], ['/a'], [])).toEqual([rw('/ab')]); // a prefix is not a parent
    expect(missingShares([rw('/x')], ['/'], [])).toEqual([]);
  });
});
