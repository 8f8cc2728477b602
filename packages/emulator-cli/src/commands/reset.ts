import { rm } from 'node:fs/promises';
import { Command } from 'commander';
import { resolveConfig } from '../config/resolve-config.js';
import { lockInstance } from '../lifecycle/instance.js';
import { stopEmulator } from '../lifecycle/stop.js';
import { createReporter } from '../ui/reporter.js';
import { action } from './shared.js';

export function resetCommand(): Command {
  return new Command('reset')
    .description('stop the emulator and delete its run state (disk overlay, logs); images are kept')
    .option('--snapshots', 'also delete every snapshot (the next start captures a new one)')
    .action(
      action(async (opts: { snapshots?: boolean }) => {
        const config = resolveConfig();
        const reporter = createReporter();
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
