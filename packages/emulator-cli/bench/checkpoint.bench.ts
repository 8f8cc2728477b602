// Checkpoints by the wall clock of the whole command (process start to exit), as a user runs them:
// `stack-emulator checkpoint save --force` and `checkpoint restore` on the reference appliance in a
// throwaway home, alternating, BENCH_RUNS times (default 7), beside each command's in-process split
// (its --json timings). Results: tmp/bench/checkpoint-wall.json (medians and every run).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { testEmulatorEnv } from '../../../tools/testing/ports.js';

const root = resolve(import.meta.dirname, '..', '..', '..');
const home = mkdtempSync(join(tmpdir(), 'emu-bench-ckpt-'));
const env = { ...process.env, ...testEmulatorEnv(home) };
const runs = Number(process.env.BENCH_RUNS ?? '7');
const bin = join(import.meta.dirname, '..', 'dist', 'cli.js');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

function timed(args: string[]): { ms: number; json: { timings?: Record<string, number> } } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args, '--json'], { env, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return { ms, json: JSON.parse(r.stdout) as { timings?: Record<string, number> } };
}

try {
  timed(['start', '--image', 'reference']);
  timed(['checkpoint', 'save', 'bench']);
  const save: number[] = [];
  const saveRunning: number[] = [];
  const restore: number[] = [];
  const restoreHealthy: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = timed(['checkpoint', 'save', 'bench', '--force']);
    save.push(s.ms);
    saveRunning.push(s.json.timings!.running!);
    const r = timed(['checkpoint', 'restore', 'bench', '--image', 'reference']);
    restore.push(r.ms);
    restoreHealthy.push(r.json.timings!.healthy!);
    process.stderr.write(`run ${i + 1}/${runs}: save ${s.ms.toFixed(0)} ms, restore ${r.ms.toFixed(0)} ms\n`);
  }
  const out = {
    runs,
    save: { wallMs: median(save), guestRunningAgainMs: median(saveRunning), allWallMs: save },
    restore: { wallMs: median(restore), healthyMs: median(restoreHealthy), allWallMs: restore },
  };
  mkdirSync(join(root, 'tmp', 'bench'), { recursive: true });
  writeFileSync(join(root, 'tmp', 'bench', 'checkpoint-wall.json'), `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} finally {
  spawnSync(process.execPath, [bin, 'stop', '--timeout', '5'], { env });
  rmSync(home, { recursive: true, force: true });
}
