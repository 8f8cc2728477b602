import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** A QEMU unpacked from a Debian release's own packages, runnable beside the host's. */
export interface DebianQemu {
  /** Holds `qemu-system-x86_64`, a wrapper that points QEMU at its own firmware: put it first in PATH. */
  binDir: string;
  /** The package version, e.g. `1:7.2+dfsg-7+deb12u18+b3`. */
  version: string;
}

const PACKAGES = ['qemu-system-x86', 'qemu-system-data', 'qemu-system-common', 'seabios', 'ipxe-qemu'];

/**
 * The QEMU of Debian `suite` (default bookworm: Debian 12's 7.2, the oldest we support), fetched with
 * `apt-get download <pkg>/<suite>` and unpacked with `dpkg-deb -x` into the user cache, keyed by
 * version. Its binary looks for ROMs in the host's /usr/share/qemu (another QEMU's), so the wrapper
 * passes its own with -L. Throws when apt has no such suite (a non-Debian host).
 */
export function ensureDebianQemu(suite = 'bookworm'): DebianQemu {
  const policy = execFileSync('apt-cache', ['policy', 'qemu-system-x86'], { encoding: 'utf8' });
  // The version table lists each version followed by the suites that have it.
  const lines = policy.split('\n');
  let version: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s+(?:\*\*\* )?(\S+) \d+$/.exec(lines[i]!);
    if (m && lines.slice(i + 1, i + 3).some((l) => new RegExp(` ${suite}/main `).test(l))) {
      version = m[1]!;
      break;
    }
  }
  if (!version)
    throw new Error(`apt has no qemu-system-x86 from ${suite}: add ${suite} to the apt sources (Debian hosts only)`);
  const root = join(
    process.env.XDG_CACHE_HOME || join(homedir(), '.cache'),
    'stack-emulator',
    `qemu-${suite}`,
    version.replace(/[^\w.+-]/g, '_'),
  );
  if (!existsSync(join(root, 'ready'))) {
    const tmp = `${root}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(join(tmp, 'debs'), { recursive: true });
    execFileSync('apt-get', ['download', ...PACKAGES.map((p) => `${p}/${suite}`)], {
      cwd: join(tmp, 'debs'),
      stdio: 'ignore',
    });
    for (const deb of readdirSync(join(tmp, 'debs')))
      execFileSync('dpkg-deb', ['-x', join(tmp, 'debs', deb), join(tmp, 'root')]);
    rmSync(join(tmp, 'debs'), { recursive: true, force: true });
    mkdirSync(join(tmp, 'bin'));
    const r = join(root, 'root');
    const wrapper = join(tmp, 'bin', 'qemu-system-x86_64');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nexec '${r}/usr/bin/qemu-system-x86_64' -L '${r}/usr/share/qemu' -L '${r}/usr/share/seabios' -L '${r}/usr/lib/ipxe/qemu' "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    writeFileSync(join(tmp, 'ready'), `${version}\n`);
    rmSync(root, { recursive: true, force: true });
    mkdirSync(join(root, '..'), { recursive: true });
    renameSync(tmp, root);
  }
  return { binDir: join(root, 'bin'), version };
}
