import { join } from 'node:path';
import type { KeyDifference } from '@stack/snapshot-cache';
import { z } from 'zod';
import type { EmulatorConfig, Ports } from '../config/resolve-config.js';
import { type ImageCache, readImageCache, writeImageCache } from './image-caches.js';

/**
 * Guest contract marker: an image whose guest can be told other host ports after it booted (through
 * {@link RETARGET_HOOK}) says so with this file. Its snapshots then carry the neutral ports and every
 * instance, on whatever ports, resumes the same one; without it the ports the guest read at boot are
 * part of the snapshot key (the original pipeline's image renders them into its container once).
 */
export const RETARGETS_PORTS_MARKER = '/etc/stack-emulator/retargets-ports';

/** Guest contract hook: the host ports as `runtime.env`'s KEY=VALUE lines on stdin; exit 0 once the services use them. */
export const RETARGET_HOOK = '/usr/local/bin/retarget-host-ports';

/** The ports a snapshot of an image that retargets is captured with: the contract's defaults. */
export const NEUTRAL_PORTS: Readonly<Ports> = Object.freeze({
  dashboard: 26700,
  backend: 26701,
  minio: 26702,
  inbucket: 26703,
  mockOauth: 26704,
});

/**
 * Whether an image's guest retargets its ports: `true`/`false` once a capture of it looked for the
 * marker, `undefined` before (an image never captured in this home).
 */
export type PortVerdict = boolean | undefined;

/** `runtime.env`'s names of the host ports (guest contract), in the contract's order. */
const HOST_PORT_VARS: ReadonlyArray<readonly [keyof Ports, string]> = [
  ['dashboard', 'STACK_EMULATOR_DASHBOARD_HOST_PORT'],
  ['backend', 'STACK_EMULATOR_BACKEND_HOST_PORT'],
  ['minio', 'STACK_EMULATOR_MINIO_HOST_PORT'],
  ['inbucket', 'STACK_EMULATOR_INBUCKET_HOST_PORT'],
  ['mockOauth', 'STACK_EMULATOR_MOCK_OAUTH_HOST_PORT'],
];

export const samePorts = (a: Readonly<Ports>, b: Readonly<Ports>): boolean =>
  HOST_PORT_VARS.every(([k]) => a[k] === b[k]);

/**
 * The host ports a snapshot key (and the config disk of the snapshot it names) holds: the neutral ones
 * for an image known to retarget, else the start's. An image not known yet is captured on the start's
 * ports, and its capture tells a guest that has the marker the neutral ones before it is saved
 * (boot/capture.ts), so its snapshot is the neutral one from the first capture on.
 */
export function keyPorts(ports: Readonly<Ports>, verdict: PortVerdict): Ports {
  return { ...(verdict === true ? NEUTRAL_PORTS : ports) };
}

/** What the retarget hook is given: `runtime.env`'s host-port lines. */
export function retargetInput(ports: Readonly<Ports>): Record<string, string> {
  return Object.fromEntries(HOST_PORT_VARS.map(([k, name]) => [name, String(ports[k])]));
}

/** The host ports a config disk's values hold (those it lacks: the neutral ones). */
export function portsOfConfigDisk(values: Readonly<Record<string, string>>): Ports {
  const out = { ...NEUTRAL_PORTS };
  for (const [k, name] of HOST_PORT_VARS) {
    const v = Number(values[name]);
    if (Number.isInteger(v) && v > 0) out[k] = v;
  }
  return out;
}

/** A session's recorded `guestPorts` as ports, when it has all five. */
export function portsOfRecord(r: Readonly<Record<string, number>> | undefined): Ports | undefined {
  if (!r || !HOST_PORT_VARS.every(([k]) => Number.isInteger(r[k]))) return undefined;
  return Object.fromEntries(HOST_PORT_VARS.map(([k]) => [k, r[k]!])) as unknown as Ports;
}

/**
 * The host ports to hand a guest at settle, or undefined when it already has them: only an image that
 * retargets, and only when the ports it holds (`guestHas`: the neutral ones in a golden snapshot, the
 * last start's in a session; undefined when unknown) differ from this start's.
 */
export function retargetFor(
  verdict: PortVerdict,
  guestHas: Readonly<Ports> | undefined,
  ports: Readonly<Ports>,
): Record<string, string> | undefined {
  if (verdict !== true) return undefined;
  return guestHas && samePorts(guestHas, ports) ? undefined : retargetInput(ports);
}

const portList = (p: Readonly<Ports>) => HOST_PORT_VARS.map(([k]) => p[k]).join(', ');

/**
 * Why a start captures its own snapshot although one exists for other host ports: the image cannot
 * take other ports when it resumes. Undefined unless that is the only difference (another image,
 * QEMU or size is the cache's own reason).
 */
export function portsReason(
  verdict: PortVerdict,
  differences: readonly KeyDifference[],
  ports: Readonly<Ports>,
): string | undefined {
  if (verdict !== false || differences.length === 0) return undefined;
  const names = new Set(HOST_PORT_VARS.map(([, name]) => `configDisk.${name}`));
  if (!differences.every((d) => names.has(d.component))) return undefined;
  return `this image cannot take other host ports when it resumes (no ${RETARGETS_PORTS_MARKER}), and no snapshot here is for ports ${portList(ports)}`;
}

/** images/retargets-ports.json: each image's verdict, under its sha256 (learned by its first capture). */
const verdictsCache = (config: EmulatorConfig): ImageCache<boolean> => ({
  file: join(config.paths.images, 'retargets-ports.json'),
  schema: z.record(z.string(), z.boolean()),
  what: 'port retargeting cache',
});

/** The verdict remembered for the image `digest` (undefined: never captured here). */
export async function knownPortVerdict(
  config: EmulatorConfig,
  digest: string,
  warn?: (text: string) => void,
): Promise<PortVerdict> {
  return (await readImageCache(verdictsCache(config), warn))[digest];
}

/** Remembers the image's verdict (what its capture found in the guest). */
export async function rememberPortVerdict(config: EmulatorConfig, digest: string, retargets: boolean): Promise<void> {
  const cache = verdictsCache(config);
  const known = await readImageCache(cache, undefined);
  if (known[digest] === retargets) return;
  await writeImageCache(cache, { ...known, [digest]: retargets });
}
