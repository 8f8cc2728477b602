import { accessSync, constants, existsSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { EmulatorError } from '../errors.js';

export interface ShareRootOptions {
  /** The user's home: never shared whole. @default os.homedir() */
  home: string;
  /** Case-insensitive file names (macOS's default APFS): `~/Code` and `~/code` are one directory. */
  platform: NodeJS.Platform;
  /** @default fs.existsSync */
  exists?: (path: string) => boolean;
  /** The path with every symlink resolved (a path that does not exist is returned as it is). @default fs.realpathSync */
  realpath?: (path: string) => string;
}

const realOrSelf = (realpath: (p: string) => string, p: string) => {
  try {
    return realpath(p);
  } catch {
    return p;
  }
};

/**
 * The directory to share with the guest for a project's config file: its project directory, the
 * nearest ancestor holding `package.json` or `.git` (the backend looks for `package.json` above the
 * config file, and two apps of one monorepo share one root), else the config file's own directory.
 * Never `/` or the home directory as a whole (the original shared `/` read-write): a config file
 * whose project would be one of those is refused with a hint.
 */
export function shareRootFor(configFile: string, options: ShareRootOptions): string {
  const exists = options.exists ?? existsSync;
  const real = (p: string) => realOrSelf(options.realpath ?? realpathSync, resolve(p));
  // Compared as the file system sees them: a home reached through a symlink (or, on macOS, spelled
  // in another case) is still the home.
  const fold = (p: string) => (options.platform === 'darwin' ? p.toLowerCase() : p);
  const home = fold(real(options.home));
  const start = dirname(real(configFile));
  const forbidden = (d: string) => d === '/' || fold(d) === home;
  for (let d = start; !forbidden(d); d = dirname(d)) {
    if (exists(join(d, 'package.json')) || exists(join(d, '.git'))) return d;
    if (dirname(d) === d) break;
  }
  if (forbidden(start)) {
    throw new EmulatorError(
      'CONFIG_INVALID',
      `${configFile} sits directly in ${start === '/' ? 'the root directory' : 'your home directory'}, which would be shared with the guest as a whole`,
      { hint: 'keep the config file in its project directory (beside its package.json) and pass that path' },
    );
  }
  return start;
}

/**
 * Checks before any boot that QEMU can share `dir`: it can be read (macOS privacy protection keeps
 * ~/Documents, ~/Desktop and iCloud Drive from apps the user has not allowed), and QEMU has 9p
 * (`virtio-9p-pci` in `-device help`). HOST_SHARE_FAILED otherwise: a share problem is never taken
 * for a broken snapshot.
 */
export function checkHostShare(
  dir: string,
  options: { platform: NodeJS.Platform; has9p: boolean; qemu: string; readdir?: (dir: string) => unknown },
): void {
  try {
    accessSync(dir, constants.R_OK | constants.X_OK);
    (options.readdir ?? readdirSync)(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const mac = options.platform === 'darwin' && (code === 'EPERM' || code === 'EACCES');
    throw new EmulatorError('HOST_SHARE_FAILED', `cannot share ${dir} with the guest: ${(e as Error).message}`, {
      cause: e,
      hint: mac
        ? 'macOS keeps this folder from apps you have not allowed: in System Settings → Privacy & Security → Files and Folders (or Full Disk Access), allow your terminal, or keep the project outside Documents, Desktop and iCloud Drive'
        : `make ${dir} readable by this user`,
    });
  }
  if (!options.has9p) {
    throw new EmulatorError(
      'HOST_SHARE_FAILED',
      `${options.qemu} has no virtio-9p-pci device, so it cannot share ${dir} with the guest`,
      {
        hint: 'install a QEMU built with virtfs (Debian/Ubuntu: qemu-system-x86 or qemu-system-arm; macOS: brew install qemu)',
      },
    );
  }
}
