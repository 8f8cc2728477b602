import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { cli, processesMentioning, testInstance } from './cli-harness.js';

// examples/vitest-workers as a user runs it: 2 workers, each forked from a seeded checkpoint onto its
// own instance and ports, the checkpoint restored before every file (3 files).
const ok = hasTools('qemu-system-x86_64', 'qemu-img', 'zstd', 'debootstrap', 'mkfs.vfat', 'mcopy', 'sfdisk');
const emu = testInstance();
const root = resolve(import.meta.dirname, '..', '..', '..');
const example = resolve(root, 'examples', 'vitest-workers');

afterAll(async () => {
  await cli(['stop', '--all', '--timeout', '5'], emu.env);
  for (const pid of processesMentioning(emu.home)) process.kill(pid, 'SIGKILL');
  await emu.cleanup();
});

describe.skipIf(!ok)('examples/vitest-workers (reference appliance)', () => {
  it('runs with 2 workers on forked instances, restoring between files', async () => {
    const env = { ...process.env, ...emu.env, EXAMPLE_IMAGE: 'reference', NO_COLOR: '1' } as Record<string, string>;
    delete env.FORCE_COLOR;
    // The suite's fixed-port variables would pin every instance to one port set.
    for (const k of Object.keys(env)) if (/^EMULATOR_.*_PORT$/.test(k)) delete env[k];
    delete env.VITEST_POOL_ID;
    delete env.VITEST_WORKER_ID;
    delete env.STACK_TEST_TIER;
    const r = await promisify(execFile)(
      process.execPath,
      [resolve(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', example, '--reporter', 'verbose'],
      { env, cwd: example, maxBuffer: 64 << 20 },
    ).catch((e: { stdout: string; stderr: string; code: number }) => e);
    const out = `${r.stdout}\n${r.stderr}`.replace(/\u001b\[[0-9;]*m/g, '');
    expect('code' in r ? r.code : 0, out.slice(-4000)).toBe(0);
    expect(out).toMatch(/Test Files\s+3 passed/);
    const l = await cli(['list', '--json'], emu.env);
    const names = (JSON.parse(l.stdout) as { instances: { name: string }[] }).instances.map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining(['seed', 'worker-1', 'worker-2']));
  }, 1_800_000);
});
