import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { QemuArgvError } from './errors.js';

/**
 * The longest path a unix socket may have: `sun_path` is 108 bytes on Linux and 104 on macOS and the
 * BSDs, NUL included (unix(7), unix(4)). QEMU refuses longer ones ("UNIX socket path ... is too long").
 */
export function maxSocketPathBytes(platform: NodeJS.Platform): number {
  return platform === 'linux' ? 107 : 103;
}

/** Throws ARGV_SOCKET_PATH_TOO_LONG, naming the path, when a socket cannot live there. */
export function checkSocketPath(path: string, platform: NodeJS.Platform): void {
  const bytes = Buffer.byteLength(path);
  const max = maxSocketPathBytes(platform);
  if (bytes > max) {
    throw new QemuArgvError(
      'ARGV_SOCKET_PATH_TOO_LONG',
      `the unix socket path ${path} is ${bytes} bytes, more than the ${max} ${platform} allows; set TMPDIR (or XDG_RUNTIME_DIR) to a shorter directory`,
      { path },
    );
  }
}

export interface SocketDirOptions {
  /** @default process.platform */
  platform?: NodeJS.Platform;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  /** @default process.getuid?.() */
  uid?: number;
}

/**
 * A short directory for the sockets of `owner` (a home or a build directory, hashed): sockets stay
 * within the platform's limit however long the home or cache path is. A 15-character home put the
 * image build's sockets at 110 bytes. Under `$XDG_RUNTIME_DIR` (Linux: /run/user/<uid>, private and
 * cleared at logout) when it is set and short, else `/tmp/stack-emulator-<uid>/` (macOS' per-user
 * TMPDIR is ~50 bytes long already). Pure: see {@link ensureSocketDir} to create it.
 */
export function socketDirFor(owner: string, options: SocketDirOptions = {}): string {
  const env = options.env ?? process.env;
  const id = createHash('sha256').update(owner).digest('hex').slice(0, 12);
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && runtime.startsWith('/') && Buffer.byteLength(runtime) <= 40)
    return join(runtime, 'stack-emulator', id);
  const uid = options.uid ?? process.getuid?.() ?? 0;
  return join('/tmp', `stack-emulator-${uid}`, id);
}

/**
 * Creates the socket directory (and its parent) with mode 0700, and refuses one that is not a real
 * directory owned by this user: in /tmp another user could have made it first (or a symlink there)
 * to catch the monitor's socket.
 */
export function ensureSocketDir(dir: string, options: { uid?: number } = {}): void {
  const uid = options.uid ?? process.getuid?.();
  for (const d of [join(dir, '..'), dir]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    const st = lstatSync(d);
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
      throw new QemuArgvError(
        'ARGV_UNSAFE_SOCKET_DIR',
        `${d} is not a private directory of this user (it must be a real directory, owned by uid ${uid}, mode 0700); remove it and try again`,
        { path: d },
      );
    }
  }
}
