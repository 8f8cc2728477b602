import { runProcess } from '@stack/internal';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { portVariable, type PortService } from '../config/compat-names.js';
import { EmulatorError } from '../errors.js';
import { portBusyHint } from './port-busy-hint.js';

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

function commandLine(pid: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return undefined;
  }
}

/** A process holding a port: its pid and whole command line (undefined: another user's, or unknown). */
interface Holder {
  pid?: string;
  commandLine?: string;
}

const shortText = (text: string) => (text.length > 120 ? `${text.slice(0, 117)}...` : text);
const describeHolder = (h: Holder) =>
  h.pid ? `pid ${h.pid} (${shortText(h.commandLine ?? '?')})` : 'a process of another user';

/** Linux: the process listening on `port`, found through /proc (no lsof needed). */
function holderFromProc(port: number): Holder | undefined {
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
        if (m && inodes.has(m[1]!)) return { pid, commandLine: commandLine(pid) };
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return {};
}

/** macOS and others: ask lsof, then ps for the whole command line (lsof gives the name only). */
async function holderFromLsof(port: number): Promise<Holder | undefined> {
  const r = await runProcess('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-Fpc'], { timeout: 3000 }).catch(
    () => undefined,
  );
  if (!r) return undefined;
  const pid = /^p(\d+)/m.exec(r.stdout)?.[1];
  const cmd = /^c(.+)$/m.exec(r.stdout)?.[1];
  if (!pid) return undefined;
  const ps = await runProcess('ps', ['-o', 'command=', '-p', pid], { timeout: 3000 }).catch(() => undefined);
  return { pid, commandLine: ps?.stdout.trim() || cmd };
}

async function findHolder(port: number, platform: NodeJS.Platform): Promise<Holder | undefined> {
  return platform === 'linux' ? holderFromProc(port) : holderFromLsof(port);
}

/** Who holds `port`, as "pid N (command)", or undefined when it cannot be told. */
export async function portHolder(
  port: number,
  platform: NodeJS.Platform = process.platform,
): Promise<string | undefined> {
  const h = await findHolder(port, platform);
  return h ? describeHolder(h) : undefined;
}

/**
 * Checks that every host port is free; throws `PORT_BUSY` naming each busy port, its service and the
 * process holding it, and a hint that recognises the usual holders (see port-busy-hint.ts) and names
 * the variable that moves each port. (QEMU binds them a moment later: a race remains, and QEMU's own
 * error is reported if it loses it.)
 */
export async function assertPortsFree(
  ports: Partial<Record<PortService, number>>,
  options: { platform?: NodeJS.Platform } = {},
): Promise<void> {
  // Grouped by holder: a stray emulator holds all five, and one line says so.
  const byHolder = new Map<
    string,
    { holder: Holder | undefined; busy: Array<{ port: number; service: PortService }> }
  >();
  for (const [service, port] of Object.entries(ports) as Array<[PortService, number]>) {
    if (await portIsFree(port)) continue;
    const holder = await findHolder(port, options.platform ?? process.platform);
    const key = holder ? describeHolder(holder) : '';
    const group = byHolder.get(key) ?? { holder, busy: [] };
    group.busy.push({ port, service });
    byHolder.set(key, group);
  }
  if (byHolder.size === 0) return;
  const busy = [...byHolder].map(
    ([key, { busy: list }]) =>
      `${list.length === 1 ? 'port' : 'ports'} ${list.map((b) => `${b.port} (${b.service})`).join(', ')} ${list.length === 1 ? 'is' : 'are'} in use${key ? ` by ${key}` : ''}`,
  );
  const hints = [...byHolder.values()].map(({ holder, busy: list }) =>
    portBusyHint(
      holder?.commandLine,
      list.map((b) => ({ port: b.port, variable: portVariable(b.service) })),
    ),
  );
  throw new EmulatorError('PORT_BUSY', busy.join('; '), { hint: hints.join('; ') });
}
