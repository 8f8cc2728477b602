import { rm } from 'node:fs/promises';
import { Command } from 'commander';
import { resolveConfig } from '../config/resolve-config.js';
import { action } from './shared.js';

export function resetCommand(): Command {
  return new Command('reset')
    .description(
      'stop the emulator and discard the saved session (its data) and run state; images and snapshots are kept',
    )
    .option('--snapshots', 'also delete every snapshot (the next start captures a new one)')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (opts: { snapshots?: boolean; json?: boolean }) => {
        const [{ lockInstance }, { stopEmulator }, { createReporter }, { sessionStore }] = await Promise.all([
          import('../lifecycle/instance.js'),
          import('../lifecycle/stop.js'),
          import('../ui/reporter.js'),
          import('../lifecycle/session.js'),
        ]);
        const config = resolveConfig();
        const reporter = await createReporter();
        const r = await stopEmulator(config, { discard: true });
        if (r.wasRunning) reporter.info(`stopped (${r.how})`);
        const lock = await lockInstance(config, 'reset');
        let dropped = false;
        try {
          dropped = await sessionStore(config).drop();
          await rm(config.paths.vm, { recursive: true, force: true });
          if (opts.snapshots) await rm(config.paths.snapshots, { recursive: true, force: true });
        } finally {
          await lock.release();
        }
        reporter.info(
          `reset: ${dropped ? 'the saved session (its disk, RAM state and data) is discarded; ' : ''}the next start begins from the golden snapshot with fresh secrets${opts.snapshots ? ', captured anew' : ''}`,
        );
        if (opts.json)
          process.stdout.write(
            `${JSON.stringify({ ok: true, stopped: r.wasRunning, sessionDiscarded: dropped, snapshotsDeleted: Boolean(opts.snapshots) }, null, 2)}\n`,
          );
      }),
    );
}
