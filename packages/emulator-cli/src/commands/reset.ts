import { Command } from 'commander';
import { action, type CommandIo, namedInstance, withInstance } from './shared.js';

export function resetCommand(): Command {
  return withInstance(new Command('reset'))
    .description(
      'stop the emulator and discard the saved session (its data) and run state; images and snapshots are kept',
    )
    .option('--snapshots', 'also delete every snapshot (the next start captures a new one)')
    .option('--checkpoints', 'also delete every checkpoint of the home (`checkpoint list`)')
    .option('--json', 'print the result as JSON')
    .action(
      action(
        async (
          opts: { snapshots?: boolean; checkpoints?: boolean; json?: boolean; instance?: string },
          io: CommandIo,
        ) => {
          const [{ reset }, { createReporter }] = await Promise.all([
            import('@stack/emulator'),
            import('../ui/reporter.js'),
          ]);
          const reporter = await createReporter(io.trace);
          const r = await reset({
            instance: opts.instance,
            snapshots: opts.snapshots === true,
            checkpoints: opts.checkpoints === true,
            trace: io.trace,
          });
          const named = namedInstance(opts);
          const who = named ? `instance ${named} ` : '';
          if (r.stopped.wasRunning) reporter.info(`${who}stopped (${r.stopped.how})`);
          reporter.info(
            `${who}reset: ${r.sessionDiscarded ? 'the saved session (its disk, RAM state and data) is discarded; ' : ''}the next start begins from the golden snapshot with fresh secrets${r.snapshotsDeleted ? ', captured anew' : ''}${r.checkpointsDeleted.length ? `; checkpoints deleted: ${r.checkpointsDeleted.join(', ')}` : ''}`,
          );
          if (opts.json)
            process.stdout.write(
              `${JSON.stringify({ ok: true, stopped: r.stopped.wasRunning, sessionDiscarded: r.sessionDiscarded, snapshotsDeleted: r.snapshotsDeleted, checkpointsDeleted: r.checkpointsDeleted }, null, 2)}\n`,
            );
        },
      ),
    );
}
