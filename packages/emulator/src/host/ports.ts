import { runProcess } from '@stack/internal';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { EmulatorError } from '../errors.js';

/**
 * The addresses a listener may hold a port on. QEMU's hostfwd binds 127.0.0.1 only, and a bind there
 * succeeds beside a listener on [::1] or [::] (a dev server on "localhost" is often IPv6 only), and on
 * macOS beside one on 0.0.0.0: the two then share the port silently, and "localhost:<port>" reaches
 * whichever the client tries first. Each address is tried in turn.
 */
const PORT_ADDRESSES = ['127.0.0.1', '0.0.0.0', '::1', '::'] as const;

function canBind(port: number, host: string): Promise<'free' | 'busy' | 'unavailable'> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) =>
      resolve(e.code === 'EADDRINUSE' || e.code === 'EACCES' ? 'busy' : 'unavailable'),
    );
    // ipv6Only: [::] then tests IPv6 listeners only; 0.0.0.0 is tried on its own.
    server.listen({ port, host, exclusive: true, ipv6Only: host === '::' }, () => server.close(() => resolve('free')));
  });
}

/**
 * Resolves true when no listener holds `port` on any of {@link PORT_ADDRESSES}. An address this host
 * lacks (no IPv6: EADDRNOTAVAIL, EAFNOSUPPORT) does not count. `bind` is injectable for tests.
 */
export async function portIsFree(
  port: number,
  options: { bind?: (port: number, host: string) => Promise<'free' | 'busy' | 'unavailable'> } = {},
): Promise<boolean> {
  for (const host of PORT_ADDRESSES) if ((await (options.bind ?? canBind)(port, host)) === 'busy') return false;
  return true;
}

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      const cols = row.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const localPort = Number.parseInt(cols[1]!.split(':')[1] ?? '', 16);
      if (localPort === port && cols[3] === '0A') inodes.add(cols[9]!);
    }
  }
  return inodes;
}

function commandLine(pid: string): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const text = argv.join(' ');
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    return '?';
  }
}

/** Linux: the process listening on `port`, found through /proc (no lsof needed). */
function holderFromProc(port: number): string | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return `pid ${pid} (${commandLine(pid)})`;
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return 'a process of another user';
}

/** macOS and others: ask lsof. */
async function holderFromLsof(port: number): Promise<string | undefined> {
  const r = await runProcess('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-Fpc'], { timeout: 3000 }).catch(
    () => undefined,
  );
  if (!r) return undefined;
  const pid = /^p(\d+)/m.exec(r.stdout)?.[1];
  const cmd = /^c(.+)$/m.exec(r.stdout)?.[1];
  return pid ? `pid ${pid} (${cmd ?? '?'})` : undefined;
}

/** Who holds `port`, as "pid N (command)", or undefined when it cannot be told. */
export async function portHolder(
  port: number,
  platform: NodeJS.Platform = process.platform,
): Promise<string | undefined> {
  if (platform === 'linux') return holderFromProc(port);
  return holderFromLsof(port);
}

/**
 * Checks that every host port is free; throws `PORT_BUSY` naming each busy port, its service and the
 * process holding it. (QEMU binds them a moment later: a race remains, and QEMU's own error is
 * reported if it loses it.)
 */
export async function assertPortsFree(
  ports: Record<string, number>,
  options: { platform?: NodeJS.Platform } = {},
): Promise<void> {
  // Grouped by holder: a stray emulator holds all five, and one line says so.
  const byHolder = new Map<string, string[]>();
  for (const [name, port] of Object.entries(ports)) {
    if (await portIsFree(port)) continue;
    const holder = (await portHolder(port, options.platform)) ?? '';
    byHolder.set(holder, [...(byHolder.get(holder) ?? []), `${port} (${name})`]);
  }
  const busy = [...byHolder].map(
    ([holder, list]) =>
      `${list.length === 1 ? `port ${list[0]} is` : `ports ${list.join(', ')} are`} in use${holder ? ` by ${holder}` : ''}`,
  );
  if (busy.length > 0) {
    throw new EmulatorError('PORT_BUSY', busy.join('; '), {
      hint: 'stop that process, or choose other ports with EMULATOR_DASHBOARD_PORT, EMULATOR_BACKEND_PORT, EMULATOR_MINIO_PORT, EMULATOR_INBUCKET_PORT, EMULATOR_MOCK_OAUTH_PORT',
    });
  }
}
