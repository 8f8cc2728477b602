import { Command } from 'commander';
import { EmulatorError } from '@stack/emulator';
import { action } from './shared.js';

export function stopCommand(): Command {
  return new Command('stop')
    .description(
      'stop the emulator: save the session (RAM and disk; the next start resumes it), else ACPI power-down, then quit, then signals after EMULATOR_STOP_TIMEOUT (default 30 s)',
    )
    .option('--json', 'print the result as JSON')
    .option('--timeout <seconds>', 'how long the guest gets to power off before QEMU is told to quit')
    .action(
      action(async (opts: { json?: boolean; timeout?: string }) => {
        const [{ stop }, { createReporter }] = await Promise.all([
          import('@stack/emulator'),
          import('../ui/reporter.js'),
        ]);
        let timeoutMs: number | undefined;
        if (opts.timeout !== undefined) {
          timeoutMs = Number(opts.timeout) * 1000;
          if (!Number.isFinite(timeoutMs) || timeoutMs < 0 || timeoutMs > 86_400_000)
            throw new EmulatorError(
              'CONFIG_INVALID',
              `--timeout ${opts.timeout}: give a number of seconds from 0 to 86400`,
            );
        }
        const reporter = await createReporter();
        const step = reporter.step('stopping');
        const r = await stop({ timeoutMs, onPhase: (t) => step.update(t) });
        if (r.saveFailed)
          reporter.warn(
            `the session could not be saved (${r.saveFailed}); its disk is kept and the next start cold-boots it`,
          );
        step.succeed(
          r.wasRunning ? (r.how === 'saved' ? 'stopped; session saved' : `stopped (${r.how})`) : 'not running',
        );
        if (opts.json) process.stdout.write(`${JSON.stringify({ ok: true, ...r }, null, 2)}\n`);
      }),
    );
}
