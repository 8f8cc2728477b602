import { Command } from 'commander';
import type { StartFlags } from '../config/resolve-config.js';
import type { Scenario } from '../lifecycle/bench.js';
import { action, configFrom, interruptible } from './shared.js';

const TARGETS: Record<string, Record<Scenario, number>> = {
  tcg: { 'resume-rotation': 1500, resume: 1000, cold: 25_000 },
  kvm: { 'resume-rotation': 500, resume: 300, cold: 10_000 },
  hvf: { 'resume-rotation': 500, resume: 300, cold: 10_000 },
};

export function benchCommand(): Command {
  return new Command('bench')
    .description('start/stop cycles: median time from command start to all-healthy for resume with rotation, resume without, and cold boot')
    .option('--image <image>', 'stack, reference, or a qcow2 path', 'stack')
    .option('--arch <arch>', 'guest architecture: amd64 or arm64')
    .option('--runs <n>', 'runs per scenario', '5')
    .option('--scenarios <list>', 'comma-separated: resume-rotation,resume,cold', 'resume-rotation,resume,cold')
    .option('--output <file>', 'also write the results as JSON to this file')
    .option('--json', 'print the results as JSON')
    .addHelpText('after', '\nThe emulator must be stopped; the bench stops it after each run. Figures never make the command fail.')
    .action(
      action(async (opts: StartFlags & { runs: string; scenarios: string; output?: string; json?: boolean }) => {
        const [{ writeFileAtomic }, { runBench }, { formatTimings }] = await Promise.all([import('@stack/snapshot-cache'), import('../lifecycle/bench.js'), import('../ui/format.js')]);
        const runs = Number(opts.runs);
        if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${opts.runs}: give a positive integer`);
        const scenarios = opts.scenarios.split(',').map((s) => s.trim()) as Scenario[];
        for (const s of scenarios) if (!['resume-rotation', 'resume', 'cold'].includes(s)) throw new Error(`--scenarios: unknown scenario ${s}`);
        const config = configFrom(opts);
        const results = await interruptible((signal) =>
          runBench(config, { runs, scenarios, signal, onRun: (s, i, ms) => process.stderr.write(`${s} #${i + 1}: ${(ms / 1000).toFixed(2)} s\n`) }),
        );
        const report = { name: 'emulator-lifecycle', date: new Date().toISOString(), host: { platform: process.platform, arch: process.arch }, results: results.map((r) => ({ ...r, targetMs: TARGETS[r.accel]?.[r.scenario] })) };
        if (opts.output) await writeFileAtomic(opts.output, `${JSON.stringify(report, null, 2)}\n`);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          return;
        }
        for (const r of report.results) {
          const target = r.targetMs ? ` (target < ${(r.targetMs / 1000).toFixed(1)} s: ${r.medianMs < r.targetMs ? 'met' : 'NOT met'})` : '';
          process.stdout.write(`${r.scenario.padEnd(16)} ${r.accel} ${r.boot}  median ${(r.medianMs / 1000).toFixed(2)} s over ${r.runs} runs${target}\n  split: ${formatTimings(r.split)}\n`);
        }
      }),
    );
}
