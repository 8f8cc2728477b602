import { describe, expect, it } from 'vitest';
import type { StartResult } from '../boot/start.js';
import { detectHost } from '../config/host-info.js';
import { resolveConfig } from '../config/resolve-config.js';
import type { Op } from '../context/op.js';
import type { InstanceState } from '../instance/state.js';
import { silentReporter } from '../report/reporter.js';
import type { Seams } from '../seams/seams.js';
import { Trace } from '../trace/trace.js';
import { runInstancesScenario, warmInstances } from './bench-instances.js';

const ROLLUP = (pss: number) =>
  `00400000-7fff5d7ff000 ---p 00000000 00:00 0 [rollup]\nRss: ${pss * 2} kB\nPss: ${pss} kB\n` +
  `Pss_Anon: ${pss / 2} kB\nPss_File: ${pss / 2} kB\nPss_Shmem: 0 kB\nShared_Clean: ${pss} kB\n` +
  `Shared_Dirty: 0 kB\nPrivate_Clean: 0 kB\nPrivate_Dirty: ${pss / 2} kB\n`;

/**
 * A world of fake instances: each start takes `startMs[instance]` on a shared clock that only moves
 * when every pending start has begun (so a start that waited for the one before would show), and
 * records what happened in `events`.
 */
function world(
  options: { platform?: NodeJS.Platform; startMs?: Record<string, number>; fail?: string; captures?: string } = {},
) {
  let now = 0;
  const events: string[] = [];
  const ops: Op[] = [];
  const clock = { now: () => now, sleep: async () => {} };
  const host = detectHost({ platform: options.platform ?? 'linux', arch: 'x64', cores: 2, memoryMiB: 8192 });
  const instanceOp = (name: string): Op => {
    const config = resolveConfig(
      { instance: name, ports: 'auto', arch: 'amd64' },
      { STACK_EMULATOR_HOME: '/nonexistent/home' },
      host,
    );
    const op: Op = {
      config,
      reporter: silentReporter,
      trace: new Trace(),
      signal: undefined,
      seams: { clock } as unknown as Seams,
    };
    return op;
  };
  let pending: Array<() => void> = [];
  const start = async (op: Op): Promise<StartResult> => {
    const name = op.config.instance;
    events.push(`start ${name}`);
    ops.push(op);
    // Every start of the run begins before any ends: the clock jumps once all have been called.
    await new Promise<void>((resolve) => pending.push(resolve));
    if (name === options.fail) throw new Error(`${name} failed`);
    const ms = options.startMs?.[name] ?? 1000;
    const n = Number(name.slice('bench-'.length));
    const state = {
      pid: 1000 + n,
      mode: 'resumed',
      accel: 'tcg',
      boot: 'direct-kernel',
      snapshotFormat: 'template-ram',
      snapshotId: 'template-1',
      timings: { running: ms / 2, healthy: ms, ...(name === options.captures ? { captured: 1 } : {}) },
    } as unknown as InstanceState;
    return { alreadyRunning: false, state };
  };
  const release = () => {
    now += Math.max(...Object.values(options.startMs ?? { x: 1000 }));
    const p = pending;
    pending = [];
    p.forEach((r) => r());
  };
  const stop = async (op: Op) => void events.push(`stop ${op.config.instance}`);
  const readText = (path: string) => {
    events.push(`read ${path}`);
    const pid = Number(/\/proc\/(\d+)\//.exec(path)![1]);
    return ROLLUP(100 * (pid - 1000));
  };
  /** Lets the starts finish once all of them were called. */
  const driving = (count: number) => {
    const t = setInterval(() => {
      if (pending.length === count) release();
    }, 1);
    return () => clearInterval(t);
  };
  return {
    events,
    ops,
    deps: { instanceOp, start, stop, readText },
    driving,
  };
}

describe('runInstancesScenario', () => {
  it('starts bench-1..N at once on free ports, reads every QEMU while all run, then stops them all', async () => {
    const w = world({ startMs: { 'bench-1': 1200, 'bench-2': 1800 } });
    const done = w.driving(2);
    const runs: number[] = [];
    const r = await runInstancesScenario(2, 2, w.deps, (_i, ms) => runs.push(ms)).finally(done);
    const oneRun = [
      'start bench-1',
      'start bench-2',
      'read /proc/1001/smaps_rollup',
      'read /proc/1002/smaps_rollup',
      'stop bench-1',
      'stop bench-2',
    ];
    expect(w.events).toEqual([...oneRun, ...oneRun]);
    // Each instance its own operation: ephemeral resumes of the template with fresh secrets, free ports.
    expect(
      w.ops
        .slice(0, 2)
        .map((o) => [o.config.instance, o.config.portsMode, o.config.ephemeral, o.config.snapshot, o.config.rotation]),
    ).toEqual([
      ['bench-1', 'auto', true, true, true],
      ['bench-2', 'auto', true, true, true],
    ]);
    expect(r.wallMs).toEqual([1800, 1800]);
    expect(runs).toEqual([1800, 1800]);
    expect(r.startMs).toEqual([
      [1200, 1800],
      [1200, 1800],
    ]);
    expect(r.splits).toHaveLength(4);
    expect(r).toMatchObject({
      accel: 'tcg',
      boot: 'direct-kernel',
      format: 'template-ram',
      snapshotIds: ['template-1'],
    });
    expect(r.memory[0]).toMatchObject([
      { kind: 'ok', rollup: { pssKiB: 100 } },
      { kind: 'ok', rollup: { pssKiB: 200 } },
    ]);
  });

  it('reports the memory unsupported on another platform, reading nothing', async () => {
    const w = world({ platform: 'darwin' });
    const done = w.driving(1);
    const r = await runInstancesScenario(1, 1, w.deps, () => {}).finally(done);
    expect(w.events.filter((e) => e.startsWith('read'))).toEqual([]);
    expect(r.memory).toEqual([[{ kind: 'unsupported', reason: expect.stringContaining('this host is darwin') }]]);
  });

  it('stops every instance when one start fails, after all the starts settled, and fails with its error', async () => {
    const w = world({ fail: 'bench-2' });
    const done = w.driving(3);
    await expect(runInstancesScenario(3, 1, w.deps, () => {}).finally(done)).rejects.toThrow('bench-2 failed');
    expect(w.events).toEqual([
      'start bench-1',
      'start bench-2',
      'start bench-3',
      'stop bench-1',
      'stop bench-2',
      'stop bench-3',
    ]);
  });

  it('fails a run whose start captured a snapshot: its time is not a resume', async () => {
    const w = world({ captures: 'bench-2' });
    const done = w.driving(2);
    await expect(runInstancesScenario(2, 1, w.deps, () => {}).finally(done)).rejects.toThrow(
      'bench instances-2: bench-2 captured a snapshot in a measured run',
    );
    expect(w.events.slice(-2)).toEqual(['stop bench-1', 'stop bench-2']);
  });
});

describe('warmInstances', () => {
  it('starts and stops each instance one after another (the first captures, the others find it)', async () => {
    const w = world();
    const done = w.driving(1);
    await warmInstances(3, w.deps).finally(done);
    expect(w.events).toEqual([
      'start bench-1',
      'stop bench-1',
      'start bench-2',
      'stop bench-2',
      'start bench-3',
      'stop bench-3',
    ]);
  });
});
