import { readdir } from 'node:fs/promises';
import type { Ports } from '../config/resolve-config.js';
import { isInstanceName } from '../config/instance-name.js';
import { DEFAULT_INSTANCE, homeLayout, type HomeLayout } from '../config/paths.js';
import type { Op } from '../context/op.js';
import type { StartMode } from './state.js';
import { readState } from './state.js';
import { keptPorts } from '../host/instance-ports.js';
import { sessionStore } from '../session/store.js';

/**
 * The instances of a home: `default` (always: it is the home's own), then every directory under
 * instances/ whose name is an instance name, sorted. Anything else there is not ours and is ignored.
 */
export async function instanceNames(paths: HomeLayout): Promise<string[]> {
  const entries = await readdir(paths.instances, { withFileTypes: true }).catch(() => []);
  const named = entries
    .filter((e) => e.isDirectory() && e.name !== DEFAULT_INSTANCE && isInstanceName(e.name))
    .map((e) => e.name)
    .sort();
  return [DEFAULT_INSTANCE, ...named];
}

/** The other instances of the home whose QEMU is alive, with their guest RAM when recorded. */
export async function runningOthers(op: Op): Promise<string[]> {
  const { config, seams } = op;
  const running: string[] = [];
  for (const name of await instanceNames(config.paths)) {
    if (name === config.instance) continue;
    // Only the state file's path is read, and it does not depend on the socket directory (the env).
    const state = await readState(homeLayout(config.paths.home, {}, name).state);
    if (state && seams.processes.alive(state.pid, state.pidStartTime)) running.push(name);
  }
  return running;
}

/** One instance as `list` shows it. */
export interface InstanceSummary {
  /** The instance's name (`default`, or one given with --instance). */
  name: string;
  /** `running` while its QEMU is alive (whatever its phase), else `stopped`. */
  state: 'running' | 'stopped';
  /** How the running VM started (resumed, session, cold); undefined when stopped. */
  mode: StartMode | undefined;
  /** How its ports are chosen: `auto` (free ones, kept in ports.json) or `fixed` (the port variables). */
  portsMode: 'auto' | 'fixed';
  /** The running VM's ports; when stopped, those it kept (auto) or would take (fixed), if known. */
  ports: Ports | undefined;
  /** QEMU's pid while running. */
  pid: number | undefined;
  /** Milliseconds since it started, while running. */
  uptimeMs: number | undefined;
  /** Bytes its saved session holds (disk and RAM, allocated), 0 when it has none. */
  sessionBytes: number;
  /** QEMU's memory in KiB while running, when readable (PSS on Linux only). */
  memory: { rssKiB: number; pssKiB: number | undefined } | undefined;
}

/** `op`'s instance, summarised for `list`. */
export async function summarizeInstance(op: Op): Promise<InstanceSummary> {
  const { config, seams } = op;
  const state = await readState(config.paths.state);
  const alive = state !== undefined && seams.processes.alive(state.pid, state.pidStartTime);
  const store = sessionStore(config);
  const meta = await store.read().catch(() => undefined);
  const sizes = meta ? await store.sizes().catch(() => undefined) : undefined;
  const stoppedPorts = config.portsMode === 'auto' ? await keptPorts(config) : config.ports;
  const started = state ? Date.parse(state.startedAt) : NaN;
  return {
    name: config.instance,
    state: alive ? 'running' : 'stopped',
    mode: alive ? state.mode : undefined,
    // A running instance's mode is the one it was started with (its start's --ports), not this command's.
    portsMode: alive ? (state.portsMode ?? config.portsMode) : config.portsMode,
    ports: alive ? state.ports : stoppedPorts,
    pid: alive ? state.pid : undefined,
    uptimeMs: alive && Number.isFinite(started) ? Math.max(0, seams.clock.now() - started) : undefined,
    sessionBytes: sizes ? sizes.disk + sizes.ram : 0,
    memory: alive ? seams.memory.processMemory(state.pid, config.host.platform) : undefined,
  };
}
