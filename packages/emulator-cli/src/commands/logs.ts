import { Command, Option } from 'commander';
import { resolveConfig } from '../config/resolve-config.js';
import { EmulatorError } from '../errors.js';
import { action, INTERRUPT_SIGNALS } from './shared.js';

export function logsCommand(): Command {
  return new Command('logs')
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
      action(async (opts: { source: 'console' | 'qemu' | 'trace'; lines: string; follow?: boolean; raw?: boolean }) => {
        const { readLog, followFile, cleanConsole, formatTraceLines } = await import('../lifecycle/logs.js');
        const lines = Number(opts.lines);
        if (!Number.isInteger(lines) || lines < 0 || lines > 1_000_000)
          throw new EmulatorError('CONFIG_INVALID', `--lines ${opts.lines}: give an integer from 0 to 1000000`);
        const config = resolveConfig();
        const show = (text: string) =>
          opts.raw
            ? text
            : opts.source === 'console'
              ? cleanConsole(text)
              : opts.source === 'trace'
                ? formatTraceLines(text)
                : text;
        const log = await readLog(config, opts.source, lines);
        if (log.text) process.stdout.write(`${show(log.text)}\n`);
        if (!opts.follow) return;
        const ac = new AbortController();
        const stop = () => ac.abort();
        for (const s of INTERRUPT_SIGNALS) process.once(s, stop);
        // Trace lines are whole JSON objects: formatted per line; the others as they come.
        let partial = '';
        await followFile(
          log.path,
          log.size,
          (chunk) => {
            if (opts.source !== 'trace' || opts.raw) return void process.stdout.write(show(chunk));
            const text = partial + chunk;
            const cut = text.lastIndexOf('\n');
            partial = text.slice(cut + 1);
            if (cut >= 0) process.stdout.write(`${show(text.slice(0, cut))}\n`);
          },
          { signal: ac.signal },
        );
      }),
    );
}
