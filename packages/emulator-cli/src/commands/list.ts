import { Command } from 'commander';
import { action, type CommandIo } from './shared.js';

export function listCommand(): Command {
  return new Command('list')
    .alias('ls')
    .description(
      "every instance of the home: state, start mode, ports, pid, uptime, session size and QEMU's memory (RSS; PSS on Linux)",
    )
    .option('--json', 'print the instances as JSON (a figure that does not apply is null)')
    .action(
      action(async (opts: { json?: boolean }, io: CommandIo) => {
        const [{ list }, { formatList }] = await Promise.all([
          import('@stack/emulator'),
          import('../ui/list-table.js'),
        ]);
        const all = await list({ trace: io.trace });
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ ok: true, instances: all }, (_, v: unknown) => (v === undefined ? null : v), 2)}\n`
            : `${formatList(all)}\n`,
        );
      }),
    );
}
