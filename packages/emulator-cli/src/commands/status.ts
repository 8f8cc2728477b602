import { Command } from 'commander';
import { action, type CommandIo, withInstance } from './shared.js';

export function statusCommand(): Command {
  return withInstance(new Command('status'))
    .description("show the VM state and each service's health")
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExit codes: 0 running and healthy, 1 running but unhealthy, or crashed, 3 stopped.')
    .action(
      action(async (opts: { json?: boolean; instance?: string }, io: CommandIo) => {
        const [{ status }, { formatStatus }] = await Promise.all([
          import('@stack/emulator'),
          import('../ui/format.js'),
        ]);
        const r = await status({ instance: opts.instance, trace: io.trace });
        process.stdout.write(opts.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatStatus(r)}\n`);
        return r.vm === 'stopped' ? 3 : r.healthy ? 0 : 1;
      }),
    );
}
