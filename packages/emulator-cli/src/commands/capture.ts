import { Command } from 'commander';
import type { StartFlags } from '../config/resolve-config.js';
import { action, configFrom, interruptible } from './shared.js';

export function captureCommand(): Command {
  return new Command('capture')
    .description('capture a new snapshot for the current configuration (replaces an existing or quarantined one)')
    .option('--image <image>', 'stack, reference, or a qcow2 path', 'stack')
    .option('--arch <arch>', 'guest architecture: amd64 or arm64')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (opts: StartFlags & { json?: boolean }) => {
        const [{ captureOnly }, { createReporter }] = await Promise.all([
          import('../lifecycle/start.js'),
          import('../ui/reporter.js'),
        ]);
        const config = configFrom({ ...opts, forceCapture: true });
        const reporter = await createReporter();
        const r = await interruptible((signal) => captureOnly(config, { reporter, signal }));
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ ok: true, ...r }, null, 2)}\n`
            : `snapshot ${r.snapshotId} captured in ${(r.elapsedMs / 1000).toFixed(1)} s\n`,
        );
      }),
    );
}
