import { Command } from 'commander';
import { action, interruptible, type CommandIo } from './shared.js';

export function stopCommand(): Command {
  return new Command('stop')
    .description(
      'stop the emulator: save the session (RAM and disk; the next start resumes it), else ACPI power-down, then quit, then signals after EMULATOR_STOP_TIMEOUT (default 30 s)',
    )
    .option('--json', 'print the result as JSON')
    .option('--timeout <seconds>', 'how long the guest gets to power off before QEMU is told to quit')
    .action(
      action(async (opts: { json?: boolean; timeout?: string }, io: CommandIo) => {
        const [{ stop }, { createReporter }] = await Promise.all([
          import('@stack/emulator'),
          import('../ui/reporter.js'),
        ]);
        const { parseFlags, stopFlags } = await import('./flags.js');
        const { timeout: timeoutMs } = parseFlags(stopFlags, opts);
        const reporter = await createReporter(io.trace);
        const step = reporter.step('stopping');
        const r = await interruptible((signal) =>
          stop({ timeoutMs, onPhase: (t) => step.update(t), signal, trace: io.trace }),
        );
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
