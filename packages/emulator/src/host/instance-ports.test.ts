import { mkdtemp, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/resolve-config.js';
import { detectHost } from '../config/host-info.js';
import { instancePorts } from './instance-ports.js';

const host = detectHost({ platform: 'linux', arch: 'x64', cores: 4, memoryMiB: 16384 });
const configFor = (home: string, instance: string) =>
  resolveConfig({ instance }, { STACK_EMULATOR_HOME: home, XDG_RUNTIME_DIR: home }, host);
const allFree = { isFree: async () => true };

describe('instancePorts', () => {
  it('keeps the configured ports for the default instance (fixed)', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ports-'));
    const config = configFor(home, 'default');
    expect(config.portsMode).toBe('fixed');
    expect(await instancePorts(config, allFree)).toEqual({ ports: config.ports, chosen: false });
  });

  it('chooses five free ports for a named instance, records them 0600 and keeps them', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ports-'));
    const config = configFor(home, 'ci-1');
    const first = await instancePorts(config, allFree);
    expect(first.chosen).toBe(true);
    expect(Object.values(first.ports)).toHaveLength(5);
    expect((await stat(config.paths.ports)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(config.paths.ports, 'utf8'))).toEqual(first.ports);
    expect(await instancePorts(config, allFree)).toEqual({ ports: first.ports, chosen: false });
  });

  it('never chooses a port another instance kept, nor a busy one', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ports-'));
    const a = await instancePorts(configFor(home, 'a'), allFree);
    const busy = new Set([a.ports.backend + 5]);
    const b = await instancePorts(configFor(home, 'a2'), { isFree: async (p) => !busy.has(p) });
    const aPorts = new Set(Object.values(a.ports));
    for (const p of Object.values(b.ports)) {
      expect(aPorts.has(p)).toBe(false);
      expect(busy.has(p)).toBe(false);
    }
  });

  it('is PORT_BUSY naming the kept port and the file when a kept port is taken', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ports-'));
    const config = configFor(home, 'ci-1');
    const { ports } = await instancePorts(config, allFree);
    const err = await instancePorts(config, { isFree: async (p) => p !== ports.backend }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PORT_BUSY' });
    expect((err as Error).message).toContain(`${ports.backend} (backend)`);
    expect((err as { hint: string }).hint).toContain(config.paths.ports);
  });

  it('replaces a corrupt ports.json with a warning', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ports-'));
    const config = configFor(home, 'ci-1');
    await mkdir(config.paths.instanceRoot, { recursive: true });
    await writeFile(config.paths.ports, '{"dashboard": "x"');
    const warnings: string[] = [];
    const r = await instancePorts(config, { ...allFree, warn: (t) => warnings.push(t) });
    expect(r.chosen).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('not a valid ports file');
    expect(JSON.parse(await readFile(config.paths.ports, 'utf8'))).toEqual(r.ports);
  });

  it('two instances choosing at once get different ports (the lock serialises them)', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ports-'));
    // Same first block for both names is likely with a one-block range; different names still must not clash.
    const [x, y] = await Promise.all([
      instancePorts(configFor(home, 'w1'), allFree),
      instancePorts(configFor(home, 'w1-copy'), allFree),
    ]);
    const xs = new Set(Object.values(x.ports));
    expect(Object.values(y.ports).some((p) => xs.has(p))).toBe(false);
  });
});
