import { Command } from 'commander';
// Its own entry point: the list is printed in --help, and the package's main one is the whole runtime.
import { DEFAULT_SCENARIOS, SCENARIO_GROUPS, SCENARIOS } from '@stack/emulator/bench-scenarios';
import { action, interruptible, type StartFlags, startFlags, type CommandIo } from './shared.js';

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
          const [{ writeFileAtomic }, { bench, benchReport, formatBenchReport }, { benchFlags, parseFlags }] =
            await Promise.all([import('@stack/internal'), import('@stack/emulator'), import('./flags.js')]);
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
          const report = benchReport(results);
          if (opts.output) await writeFileAtomic(opts.output, `${JSON.stringify(report, null, 2)}\n`);
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
            return;
          }
          process.stdout.write(formatBenchReport(report));
        },
      ),
    );
}
