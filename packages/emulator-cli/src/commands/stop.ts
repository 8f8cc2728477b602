import { Command } from 'commander';
import { action, interruptible, type CommandIo, namedInstance, withInstance } from './shared.js';

export function stopCommand(): Command {
  return withInstance(new Command('stop'))
    .description(
      'stop the emulator: save the session (RAM and disk; the next start resumes it), else ACPI power-down, then quit, then signals after EMULATOR_STOP_TIMEOUT (default 30 s)',
    )
    .option('--all', 'stop every running instance of the home, one after another')
    .option('--json', 'print the result as JSON')
    .option('--timeout <seconds>', 'how long the guest gets to power off before QEMU is told to quit')
    .action(
      action(async (opts: { json?: boolean; timeout?: string; instance?: string; all?: boolean }, io: CommandIo) => {
        const [{ stop, stopAll, EmulatorError }, { createReporter }] = await Promise.all([
          import('@stack/emulator'),
          import('../ui/reporter.js'),
        ]);
        const { parseFlags, stopFlags } = await import('./flags.js');
        const { timeout: timeoutMs } = parseFlags(stopFlags, opts);
        const reporter = await createReporter(io.trace);
        if (opts.all) {
          if (opts.instance !== undefined)
            throw new EmulatorError('CONFIG_INVALID', '--all and --instance name different instances', {
              hint: 'give one of them',
            });
          const step = reporter.step('stopping every instance');
          const all = await interruptible((signal) => stopAll({ timeoutMs, signal, trace: io.trace }));
          for (const item of all)
            if (item.error) reporter.warn(`instance ${item.instance}: ${item.error.message}`);
            else reporter.info(`instance ${item.instance} stopped (${item.result!.how})`);
          const failed = all.filter((i) => i.error).length;
          if (failed) step.fail(`${failed} of ${all.length} could not be stopped`);
          else step.succeed(all.length ? `stopped ${all.length}` : 'none was running');
          if (opts.json) process.stdout.write(`${JSON.stringify({ ok: failed === 0, stopped: all }, null, 2)}\n`);
          return failed ? 1 : 0;
        }
        const named = namedInstance(opts);
        const who = named ? `instance ${named} ` : '';
        const step = reporter.step(`stopping${named ? ` instance ${named}` : ''}`);
        const r = await interruptible((signal) =>
          stop({ instance: opts.instance, timeoutMs, onPhase: (t) => step.update(t), signal, trace: io.trace }),
        );
        if (r.saveFailed)
          reporter.warn(
            `the session could not be saved (${r.saveFailed}); its disk is kept and the next start cold-boots it`,
          );
        step.succeed(
          `${who}${r.wasRunning ? (r.how === 'saved' ? 'stopped; session saved' : `stopped (${r.how})`) : 'not running'}`,
        );
        if (opts.json) process.stdout.write(`${JSON.stringify({ ok: true, ...r }, null, 2)}\n`);
      }),
    );
}
