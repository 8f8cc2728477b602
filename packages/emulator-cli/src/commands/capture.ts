import { Command } from 'commander';
import {
  action,
  interruptible,
  type StartFlags,
  startFlags,
  type CommandIo,
  withInstance,
  withPortsFlag,
} from './shared.js';

export function captureCommand(): Command {
  return withPortsFlag(withInstance(new Command('capture')))
    .description('capture a new snapshot for the current configuration (replaces an existing or quarantined one)')
    .option('--image <image>', 'stack, reference, or a qcow2 path', 'stack')
    .option('--arch <arch>', 'guest architecture: amd64 or arm64')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (opts: StartFlags & { json?: boolean }, io: CommandIo) => {
        const [{ capture }, { createReporter }] = await Promise.all([
          import('@stack/emulator'),
          import('../ui/reporter.js'),
        ]);
        const reporter = await createReporter(io.trace);
        const r = await interruptible((signal) => capture({ ...startFlags(opts), reporter, signal, trace: io.trace }));
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ ok: true, ...r }, null, 2)}\n`
            : `snapshot ${r.snapshotId} captured in ${(r.elapsedMs / 1000).toFixed(1)} s\n`,
        );
      }),
    );
}
