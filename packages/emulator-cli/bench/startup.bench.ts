// The CLI's start-up cost, for commands that need no VM (issue 33: `status` ≤ 0.15 s started as
// `node <bin>`). Each command runs STARTUP_RUNS times (default 7) as a whole process against an empty
// throwaway home; the wall clock's median is reported beside the in-process split (medians of runs
// preloading startup-marks.mjs, so the wall-clock runs carry no preload):
//   node     — Node's own bootstrap, until the first preloaded code runs;
//   load     — the bundle's static imports (commander and the command tree) evaluated;
//   register — the command tree built;
//   runtime  — the action started and the runtime library (@stack/emulator) loaded;
//   command  — the command's own work, until the process exits;
// and cpuMs, the process's CPU time (user + system), steadier than the wall clock on a busy machine.
// `node -e 0` is measured too: the floor no CLI can go under. STARTUP_NPX=1 adds `--version` the ways a
// user types it: the linked bin (node_modules/.bin/stack-emulator, through its shebang) and
// `npx --no-install stack-emulator` (npm's own start first), from the repository's root. Results:
// tmp/bench/cli-startup.json (STARTUP_NAME=x: cli-startup-x.json, e.g. to keep a before and an after).
// Run: npm run bench-startup (or npx nx run emulator-cli:bench-startup), after a build.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median, writeBenchResult } from '../../../tools/testing/bench.js';
import { testEmulatorEnv } from '../../../tools/testing/ports.js';

const runs = Number(process.env.STARTUP_RUNS ?? '7');
// What npm links; STARTUP_BIN measures another build. STARTUP_BASELINE names a second bin (e.g. main's
// bin/, dist/ and package.json copied under the repository's tmp/, where its packages resolve) run
// alternately with the first, in the same rounds, so a loaded machine weighs on both alike.
const bin = process.env.STARTUP_BIN ?? join(import.meta.dirname, '..', 'bin', 'stack-emulator.js');
const bins: Array<[string, string]> = [
  ['this', bin],
  ...(process.env.STARTUP_BASELINE ? [['baseline', process.env.STARTUP_BASELINE] as [string, string]] : []),
];
const marksPreload = join(import.meta.dirname, 'startup-marks.mjs');
const home = mkdtempSync(join(tmpdir(), 'emu-startup-'));
const marksFile = join(home, 'marks.json');
const env = { ...process.env, ...testEmulatorEnv(home), STACK_EMULATOR_INSTANCE: '', STACK_EMULATOR_DEBUG: '' };
const root = resolve(import.meta.dirname, '..', '..', '..');

const CLI_COMMANDS: Array<{ name: string; args: string[]; exit: number }> = [
  { name: '--version', args: ['--version'], exit: 0 },
  { name: '--help', args: ['--help'], exit: 0 },
  { name: 'status', args: ['status'], exit: 3 },
  { name: 'status --json', args: ['status', '--json'], exit: 3 },
  { name: 'env', args: ['env'], exit: 3 },
  { name: 'list --json', args: ['list', '--json'], exit: 0 },
];
// `file` set: the command is run as it is (no `node` before it, no marks), from the repository's root.
const COMMANDS: Array<{ build?: string; file?: string; name: string; args: string[]; exit: number }> = [
  { name: 'node -e 0', args: ['-e', '0'], exit: 0 },
  ...CLI_COMMANDS.flatMap((c) => bins.map(([build, b]) => ({ build, ...c, args: [b, ...c.args] }))),
  ...(process.env.STARTUP_NPX === '1'
    ? [
        {
          name: 'node_modules/.bin/stack-emulator --version',
          file: join(root, 'node_modules', '.bin', 'stack-emulator'),
          args: ['--version'],
          exit: 0,
        },
        {
          name: 'npx --no-install stack-emulator --version',
          file: 'npx',
          args: ['--no-install', 'stack-emulator', '--version'],
          exit: 0,
        },
      ]
    : []),
];

/** One whole process: its wall clock in milliseconds. */
function wall(args: string[], exit: number, file = process.execPath): number {
  const t0 = performance.now();
  const r = spawnSync(file, args, { env, stdio: 'ignore', cwd: root });
  const ms = performance.now() - t0;
  if (r.status !== exit) throw new Error(`${file} ${args.join(' ')}: exit ${r.status}, expected ${exit}`);
  return ms;
}

/** One process with the marks preloaded: each phase's duration in milliseconds. */
function split(args: string[]): Record<string, number> {
  rmSync(marksFile, { force: true });
  spawnSync(process.execPath, ['--import', marksPreload, ...args], {
    env: { ...env, STARTUP_MARKS_FILE: marksFile },
    stdio: 'ignore',
  });
  const m = JSON.parse(readFileSync(marksFile, 'utf8')) as Record<string, number>;
  const at = (name: string) => m[`stack-emulator:${name}`];
  // A phase a command never reaches (--version has no action) is left out.
  const points: Array<[string, number | undefined]> = [
    ['node', m.preload],
    ['load', at('loaded')],
    ['register', at('registered')],
    ['runtime', at('runtime')],
    ['command', m.exit],
  ];
  const phases: Record<string, number> = {};
  if (m.cpu !== undefined) phases.cpu = m.cpu;
  let last = 0;
  for (const [phase, t] of points) {
    if (t === undefined) continue;
    phases[phase] = t - last;
    last = t;
  }
  return phases;
}

const round = (ms: number) => Math.round(ms * 10) / 10;
// Round-robin (each round runs every command once) so that a busy moment of the machine weighs on
// every command alike instead of on whichever ran then.
const walls = COMMANDS.map(() => [] as number[]);
const splits = COMMANDS.map(() => [] as Array<Record<string, number>>);
try {
  for (const c of COMMANDS) wall(c.args, c.exit, c.file); // a warm-up: the page cache, not the CLI, is what a first run measures
  for (let i = 0; i < runs; i++)
    COMMANDS.forEach((c, k) => {
      walls[k]!.push(wall(c.args, c.exit, c.file));
      if (c.build) splits[k]!.push(split(c.args));
    });
} finally {
  rmSync(home, { recursive: true, force: true });
}
const results = COMMANDS.map((c, k) => ({
  ...(bins.length > 1 && c.build ? { build: c.build } : {}),
  command: c.name,
  wallMs: round(median(walls[k]!)),
  ...(splits[k]![0] ? { cpuMs: round(median(splits[k]!.map((s) => s.cpu ?? 0))) } : {}),
  phasesMs: Object.fromEntries(
    Object.keys(splits[k]![0] ?? {})
      .filter((p) => p !== 'cpu')
      .map((p) => [p, round(median(splits[k]!.map((s) => s[p] ?? 0)))]),
  ),
}));
const file = writeBenchResult(process.env.STARTUP_NAME ? `cli-startup-${process.env.STARTUP_NAME}` : 'cli-startup', {
  runs,
  loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  bins: Object.fromEntries(bins),
  node: process.version,
  cpu: `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`,
  results,
});
process.stdout.write(`${JSON.stringify(results, null, 2)}\n${file}\n`);
