import { rm } from 'node:fs/promises';
import { Command } from 'commander';
import { resolveConfig } from '../config/resolve-config.js';
import { action } from './shared.js';

export function resetCommand(): Command {
  return new Command('reset')
    .description('stop the emulator and delete its run state (disk overlay, logs); images are kept')
    .option('--snapshots', 'also delete every snapshot (the next start captures a new one)')
    .action(
      action(async (opts: { snapshots?: boolean }) => {
        const [{ lockInstance }, { stopEmulator }, { createReporter }] = await Promise.all([import('../lifecycle/instance.js'), import('../lifecycle/stop.js'), import('../ui/reporter.js')]);
        const config = resolveConfig();
        const reporter = await createReporter();
        const r = await stopEmulator(config);
        if (r.wasRunning) reporter.info(`stopped (${r.how})`);
        const lock = await lockInstance(config, 'reset');
        try {
          await rm(config.paths.vm, { recursive: true, force: true });
          if (opts.snapshots) await rm(config.paths.snapshots, { recursive: true, force: true });
        } finally {
          await lock.release();
        }
        reporter.info(`reset: the next start boots a fresh disk${opts.snapshots ? ' and captures a new snapshot' : ''}`);
      }),
    );
}
