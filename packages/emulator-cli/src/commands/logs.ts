import { Command, Option } from 'commander';
import { action, INTERRUPT_SIGNALS, type CommandIo, withInstance } from './shared.js';

export function logsCommand(): Command {
  return withInstance(new Command('logs'))
    .description("print the guest's console, QEMU's log, or the last command's trace")
    .addOption(new Option('--source <source>', 'which log').choices(['console', 'qemu', 'trace']).default('console'))
    .option('-n, --lines <n>', 'how many of the last lines', '100')
    .option('-f, --follow', 'keep printing what is added (Ctrl-C to stop)')
    .option('--raw', 'as written (terminal escapes of the console, JSON lines of the trace)')
    .addHelpText(
      'after',
      '\nThe trace is written by start, stop, run, exec, reset, capture and pull (each replaces it); --verbose prints it as it happens.',
    )
    .action(
      action(
        async (
          opts: {
            source: 'console' | 'qemu' | 'trace';
            lines: string;
            follow?: boolean;
            raw?: boolean;
            instance?: string;
          },
          io: CommandIo,
        ) => {
          const [{ readLog, followLog }, { logsFlags, parseFlags }] = await Promise.all([
            import('@stack/emulator'),
            import('./flags.js'),
          ]);
          const { lines } = parseFlags(logsFlags, opts);
          const log = await readLog({
            instance: opts.instance,
            source: opts.source,
            lines,
            raw: opts.raw,
            trace: io.trace,
          });
          if (log.text) process.stdout.write(`${log.text}\n`);
          if (!opts.follow) return;
          const ac = new AbortController();
          const stop = () => ac.abort();
          for (const s of INTERRUPT_SIGNALS) process.once(s, stop);
          await followLog({
            instance: opts.instance,
            source: opts.source,
            raw: opts.raw,
            path: log.path,
            offset: log.size,
            signal: ac.signal,
            onData: (text) => void process.stdout.write(text),
          });
        },
      ),
    );
}
