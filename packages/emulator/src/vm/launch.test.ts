import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../../test/fake-world.js';
import { testEnv, testOp } from '../../test/boot-env.js';
import { launchGuest, type LaunchPlan } from './launch.js';

const later = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup() {
  const w = new FakeWorld();
  const op = testOp(w);
  const env = testEnv(op, w.image());
  const p = op.config.paths;
  mkdirSync(p.vm, { recursive: true });
  const memory = join(p.vm, 'own-ram.img');
  const seen: string[] = [];
  const launch = w.vms.launch;
  // What QEMU would find when it maps the RAM file and opens the config disk.
  w.vms.launch = (spec, options) => {
    seen.push(existsSync(memory) ? readFileSync(memory, 'utf8') : 'no RAM file');
    seen.push(existsSync(p.configIso) ? 'config disk' : 'no config disk');
    return launch(spec, options);
  };
  const plan = (prepareMemory: () => Promise<unknown>): LaunchPlan => ({
    layout: 'snapshot',
    disk: join(p.vm, 'disk.qcow2'),
    configIso: p.configIso,
    configValues: { A: '1' },
    memoryFile: { path: memory, mode: 'shared' },
    prepareMemory,
    shares: [],
    agentTimeoutMs: 5_000,
    onLaunched: async () => {},
  });
  writeFileSync(join(p.vm, 'disk.qcow2'), '');
  return { w, env, memory, seen, plan };
}

describe('launchGuest: the files a launch needs', () => {
  it('QEMU starts only once the RAM file its plan makes is whole (made beside the config disk)', async () => {
    const { env, memory, seen, plan } = setup();
    const launched = await launchGuest(
      env,
      plan(async () => {
        await later(50); // slower than the config disk: the launch waits for both
        writeFileSync(memory, 'cloned RAM');
      }),
    );
    expect(seen).toEqual(['cloned RAM', 'config disk']);
    await launched.vm.kill();
  });

  it('a RAM file that cannot be made launches no QEMU, after the config disk is finished', async () => {
    const { w, env, seen, plan } = setup();
    const err = await launchGuest(
      env,
      plan(async () => {
        throw new Error('cp: No space left on device');
      }),
    ).catch((e: Error) => e);
    expect((err as Error).message).toContain('No space left');
    expect(seen).toEqual([]);
    expect(w.launches).toEqual([]);
    // The config disk's write was not cut off half-way by the failure.
    expect(existsSync(env.op.config.paths.configIso)).toBe(true);
  });
});
