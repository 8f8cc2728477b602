import { mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readJsonFile, writeFileAtomic } from '@stack/internal';
import { acquireLock, LockBusyError } from '@stack/snapshot-cache';
import { z } from 'zod';
import type { EmulatorConfig, Ports } from '../config/resolve-config.js';
import { EmulatorError } from '../errors.js';

const port = z.number().int().min(1).max(65535);
/** ports.json: the host ports an instance chose at its first `--ports auto` start. */
const keptPortsSchema = z.strictObject({
  dashboard: port,
  backend: port,
  minio: port,
  inbucket: port,
  mockOauth: port,
});

const SERVICES = ['dashboard', 'backend', 'minio', 'inbucket', 'mockOauth'] as const;

/**
 * Where chosen ports come from: below Linux's ephemeral range (32768-60999, where a port may be the
 * local end of another connection at any moment) and above the defaults (26700-26704), in blocks of
 * five.
 */
const FIRST = 27000;
const LAST = 32700;
const BLOCK = 5;
/** Another start choosing its ports holds the lock for milliseconds; a holder longer than this is stuck. */
const LOCK_WAIT_MS = 15_000;

/** A block to try first for `instance`: spread by name, so two homes' instances seldom pick alike. */
function firstBlock(instance: string): number {
  let h = 0;
  for (const c of instance) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h % Math.floor((LAST - FIRST) / BLOCK);
}

/** The ports every other instance of the home has kept (a stopped one wants them back). */
async function keptByOthers(config: EmulatorConfig): Promise<Set<number>> {
  const p = config.paths;
  const files = [join(p.home, 'ports.json')];
  for (const name of await readdir(p.instances).catch(() => [] as string[]))
    files.push(join(p.instances, name, 'ports.json'));
  const taken = new Set<number>();
  for (const file of files) {
    if (file === p.ports) continue;
    const r = await readJsonFile(file, keptPortsSchema).catch(() => undefined);
    if (r?.kind === 'ok') for (const s of SERVICES) taken.add(r.value[s]);
  }
  return taken;
}

/** What {@link instancePorts} needs from the world. */
export interface InstancePortsDeps {
  /** True when `port` is free on every loopback and wildcard address. */
  isFree: (port: number) => Promise<boolean>;
  /** Told when a kept ports.json was unreadable and is replaced. @default nothing */
  warn?: (text: string) => void;
}

/** Five free ports in one block, none kept by another instance; undefined when the range is full. */
async function choosePorts(config: EmulatorConfig, isFree: InstancePortsDeps['isFree']): Promise<Ports | undefined> {
  const taken = await keptByOthers(config);
  const blocks = Math.floor((LAST - FIRST) / BLOCK);
  const start = firstBlock(config.instance);
  for (let i = 0; i < blocks; i++) {
    const base = FIRST + ((start + i) % blocks) * BLOCK;
    const candidate = SERVICES.map((_, k) => base + k);
    if (candidate.some((p) => taken.has(p))) continue;
    if (!(await Promise.all(candidate.map(isFree))).every(Boolean)) continue;
    const [dashboard, backend, minio, inbucket, mockOauth] = candidate as [number, number, number, number, number];
    return { dashboard, backend, minio, inbucket, mockOauth };
  }
  return undefined;
}

/**
 * The host ports of this start. `fixed`: the configuration's. `auto`: the ports this instance kept
 * (ports.json), else five free ones (none another instance kept), written down (0600) for the next
 * start. Kept ports are the instance's: clients were given them, so one that is now taken is
 * PORT_BUSY, not silently moved. A ports.json that is not valid is replaced, with a warning. The
 * choice and the write happen under a home-wide lock, so two instances starting at once never
 * choose the same block.
 */
export async function instancePorts(
  config: EmulatorConfig,
  deps: InstancePortsDeps,
): Promise<{ ports: Ports; chosen: boolean }> {
  if (config.portsMode === 'fixed') return { ports: config.ports, chosen: false };
  await mkdir(dirname(config.paths.portsLock), { recursive: true, mode: 0o700 });
  const lock = await acquireLock(config.paths.portsLock, {
    command: `choose ports (instance ${config.instance})`,
    wait: { timeout: LOCK_WAIT_MS },
  }).catch((e: unknown) => {
    if (!(e instanceof LockBusyError)) throw e;
    throw new EmulatorError(
      'LOCK_BUSY',
      `another start has been choosing ports for ${LOCK_WAIT_MS / 1000} s: pid ${e.holder.pid} (${e.holder.command})`,
      { hint: 'wait for it to finish, or end that process', cause: e },
    );
  });
  try {
    const kept = await readJsonFile(config.paths.ports, keptPortsSchema);
    if (kept.kind === 'ok') {
      const busy: string[] = [];
      for (const s of SERVICES) if (!(await deps.isFree(kept.value[s]))) busy.push(`${kept.value[s]} (${s})`);
      if (busy.length > 0)
        throw new EmulatorError(
          'PORT_BUSY',
          `instance ${config.instance} keeps port${busy.length > 1 ? 's' : ''} ${busy.join(', ')} (${config.paths.ports}), in use by another process`,
          {
            hint: `stop the process holding ${busy.length > 1 ? 'them' : 'it'}, or delete ${config.paths.ports} so the next start chooses new ports`,
          },
        );
      return { ports: kept.value, chosen: false };
    }
    if (kept.kind === 'invalid')
      deps.warn?.(`${config.paths.ports} is not a valid ports file (${kept.reason}); choosing new ports`);
    const ports = await choosePorts(config, deps.isFree);
    if (!ports)
      throw new EmulatorError('PORT_BUSY', `no five free host ports between ${FIRST} and ${LAST}`, {
        hint: 'stop instances you no longer need (`stack-emulator list`), or give the ports with EMULATOR_*_PORT',
      });
    await mkdir(dirname(config.paths.ports), { recursive: true, mode: 0o700 });
    await writeFileAtomic(config.paths.ports, `${JSON.stringify(ports, null, 2)}\n`, { mode: 0o600 });
    return { ports, chosen: true };
  } finally {
    await lock.release();
  }
}

/** The ports an instance kept in ports.json, when it has valid ones. */
export async function keptPorts(config: EmulatorConfig): Promise<Ports | undefined> {
  const r = await readJsonFile(config.paths.ports, keptPortsSchema).catch(() => undefined);
  return r?.kind === 'ok' ? r.value : undefined;
}
