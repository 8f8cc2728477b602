import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile, writeFileAtomic } from '@stack/internal';
import { z } from 'zod';
import type { EmulatorConfig, Ports } from '../config/resolve-config.js';

const portsSchema = z.object({
  dashboard: z.number().int(),
  backend: z.number().int(),
  minio: z.number().int(),
  inbucket: z.number().int(),
  mockOauth: z.number().int(),
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
    const r = await readJsonFile(file, portsSchema).catch(() => undefined);
    if (r?.kind === 'ok') for (const s of SERVICES) taken.add(r.value[s]);
  }
  return taken;
}

/**
 * The host ports of this start. `fixed`: the configuration's. `auto`: the ports this instance kept
 * (ports.json) when all are still free, else five free ones (none another instance kept), written
 * down for the next start. `isFree` checks a port on every loopback and wildcard address.
 */
export async function instancePorts(
  config: EmulatorConfig,
  isFree: (port: number) => Promise<boolean>,
): Promise<{ ports: Ports; chosen: boolean }> {
  if (config.portsMode === 'fixed') return { ports: config.ports, chosen: false };
  const kept = await readJsonFile(config.paths.ports, portsSchema);
  if (kept.kind === 'ok') {
    const free = await Promise.all(SERVICES.map((s) => isFree(kept.value[s])));
    if (free.every(Boolean)) return { ports: kept.value, chosen: false };
  }
  const taken = await keptByOthers(config);
  const blocks = Math.floor((LAST - FIRST) / BLOCK);
  const start = firstBlock(config.instance);
  for (let i = 0; i < blocks; i++) {
    const base = FIRST + ((start + i) % blocks) * BLOCK;
    const candidate = SERVICES.map((_, k) => base + k);
    if (candidate.some((port) => taken.has(port))) continue;
    if (!(await Promise.all(candidate.map(isFree))).every(Boolean)) continue;
    const [dashboard, backend, minio, inbucket, mockOauth] = candidate as [number, number, number, number, number];
    const ports: Ports = { dashboard, backend, minio, inbucket, mockOauth };
    await writeFileAtomic(config.paths.ports, `${JSON.stringify(ports, null, 2)}\n`, { mode: 0o600 });
    return { ports, chosen: true };
  }
  throw new Error(`no five free host ports between ${FIRST} and ${LAST}`);
}
