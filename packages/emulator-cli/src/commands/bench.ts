import { Command } from 'commander';
// Its own entry point: the list is printed in --help, and the package's main one is the whole runtime.
import { DEFAULT_SCENARIOS, type Scenario, SCENARIO_GROUPS, SCENARIOS } from '@stack/emulator/bench-scenarios';
import { action, interruptible, type StartFlags, startFlags, type CommandIo } from './shared.js';

const TARGETS: Record<string, Partial<Record<Scenario, number>>> = {
  // Under TCG on the 2-core CI VM (issue targets): golden resume with and without rotation, the saved
  // session, a stop that saves it.
  // instances-4: issue 30, four instances at once from one template all healthy within 3 s.
  tcg: {
    'resume-rotation': 800,
    resume: 550,
    cold: 25_000,
    'session-resume': 800,
    'stop-with-save': 500,
    'instances-4': 3000,
  },
  kvm: { 'resume-rotation': 500, resume: 300, cold: 10_000 },
  hvf: { 'resume-rotation': 500, resume: 300, cold: 10_000 },
};

export function benchCommand(): Command {
  return new Command('bench')
    .description(
      'start/stop cycles: medians (with the split) of starts to all-healthy (golden resume with and without rotation, cold boot, saved session) and of stops (with a session save, ACPI)',
    )
    .option('--image <image>', 'stack, reference, or a qcow2 path', 'stack')
    .option('--arch <arch>', 'guest architecture: amd64 or arm64')
    .option('--runs <n>', 'runs per scenario', '5')
    .option(
      '--scenarios <list>',
      `comma-separated: ${SCENARIOS.join(',')}; ${Object.entries(SCENARIO_GROUPS)
        .map(([name, group]) => `${name} = ${group.join(',')}`)
        .join('; ')} (asked by name only)`,
      DEFAULT_SCENARIOS.join(','),
    )
    .option('--output <file>', 'also write the results as JSON to this file')
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      '\nThe emulator must be stopped; the bench stops it after each run. Figures never make the command fail.\n' +
        'The instances scenarios (asked by name) start bench-1..N at once on free ports from one template and\n' +
        "read each QEMU's /proc/<pid>/smaps_rollup (Linux) while all run; instances-1 is their memory baseline.",
    )
    .action(
      action(
        async (
          opts: StartFlags & { runs: string; scenarios: string; output?: string; json?: boolean },
          io: CommandIo,
        ) => {
          const [
            { writeFileAtomic },
            { bench },
            { formatTimings, formatStopTimings },
            { formatInstances },
            { benchFlags, parseFlags },
          ] = await Promise.all([
            import('@stack/internal'),
            import('@stack/emulator'),
            import('../ui/format.js'),
            import('../ui/format-instances.js'),
            import('./flags.js'),
          ]);
          const { runs, scenarios } = parseFlags(benchFlags, opts);
          const results = await interruptible((signal) =>
            bench({
              ...startFlags(opts),
              signal,
              trace: io.trace,
              runs,
              scenarios,
              onRun: (s, i, ms) => process.stderr.write(`${s} #${i + 1}: ${(ms / 1000).toFixed(2)} s\n`),
            }),
          );
          const report = {
            name: 'emulator-lifecycle',
            date: new Date().toISOString(),
            host: { platform: process.platform, arch: process.arch },
            results: results.map((r) => ({ ...r, targetMs: TARGETS[r.accel]?.[r.scenario] })),
          };
          if (opts.output) await writeFileAtomic(opts.output, `${JSON.stringify(report, null, 2)}\n`);
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
            return;
          }
          for (const r of report.results) {
            const target = r.targetMs
              ? ` (target <= ${(r.targetMs / 1000).toFixed(2)} s: ${r.medianMs <= r.targetMs ? 'met' : 'NOT met'})`
              : '';
            const launch =
              r.split.running !== undefined && r.split.qemuLaunched !== undefined
                ? `  launch -> running ${((r.split.running - r.split.qemuLaunched) / 1000).toFixed(3)} s (${r.snapshotFormat ?? 'no snapshot'})\n`
                : '';
            const mib = (k: number) => `${Math.round(k / 1024)} MiB`;
            const memory = r.memory
              ? `  QEMU memory after the start: RSS ${mib(r.memory.rssKiB)}${r.memory.pssKiB !== undefined ? `, PSS ${mib(r.memory.pssKiB)}` : ''}\n`
              : '';
            process.stdout.write(
              `${r.scenario.padEnd(16)} ${r.accel} ${r.boot}  median ${(r.medianMs / 1000).toFixed(2)} s over ${r.runs} runs${target}\n  split: ${r.scenario.startsWith('stop') ? formatStopTimings(r.split) : formatTimings(r.split)}\n${launch}${memory}${r.instances ? formatInstances(r.instances) : ''}`,
            );
          }
        },
      ),
    );
}
