import { Command } from 'commander';
import {
  action,
  interruptible,
  type CommandIo,
  namedInstance,
  type StartFlags,
  startFlags,
  withInstance,
  VERBOSE_HELP,
  withStartFlags,
} from './shared.js';

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** `checkpoint save|restore|list|rm`: named states of an instance, returned to in about half a second. */
export function checkpointCommand(): Command {
  const cmd = new Command('checkpoint').description(
    "named states of an instance (every service's data, RAM and devices): save one, return to it as often as wanted",
  );
  cmd.addCommand(
    withInstance(new Command('save'))
      .description("save the running instance's state as <name>; it runs on (paused for a fraction of a second)")
      .argument('<name>', 'a-z 0-9 . _ -, a letter or digit first')
      .option('--force', 'replace a checkpoint of that name')
      .option('--json', 'print the result as JSON')
      .action(
        action(async (name: string, opts: { force?: boolean; json?: boolean; instance?: string }, io: CommandIo) => {
          const [{ checkpoint }, { createReporter }] = await Promise.all([
            import('@stack/emulator'),
            import('../ui/reporter.js'),
          ]);
          const reporter = await createReporter(io.trace);
          const named = namedInstance(opts);
          const step = reporter.step(`saving checkpoint ${name}${named ? ` of instance ${named}` : ''}`);
          const r = await interruptible((signal) =>
            checkpoint.save(name, { instance: opts.instance, force: opts.force === true, signal, trace: io.trace }),
          );
          step.succeed(
            `saved checkpoint ${name} (guest paused ${(r.pausedMs / 1000).toFixed(2)} s, ${(r.timings.committed! / 1000).toFixed(2)} s in all)`,
          );
          if (opts.json) process.stdout.write(json({ ok: true, ...r }));
        }),
      ),
  );
  cmd.addCommand(
    withStartFlags(new Command('restore'))
      .description('return the instance (running or stopped) to checkpoint <name> and resume it there')
      .argument('<name>', 'the checkpoint')
      .option('--json', 'print the result as JSON on stdout (progress stays on stderr)')
      .action(
        action(async (name: string, opts: StartFlags & { json?: boolean }, io: CommandIo) => {
          const [{ checkpoint }, { formatStartSummary }, { createReporter }] = await Promise.all([
            import('@stack/emulator'),
            import('../ui/format.js'),
            import('../ui/reporter.js'),
          ]);
          const reporter = await createReporter(io.trace);
          const em = await interruptible((signal) =>
            checkpoint.restore(name, { ...startFlags(opts), reporter, signal, trace: io.trace }),
          );
          const { state, internalPckFile, instance } = em;
          process.stdout.write(
            opts.json
              ? json({ ok: true, instance, checkpoint: name, ...state, internalPckFile })
              : `${formatStartSummary(state, false, internalPckFile, instance)}\n`,
          );
        }),
      ),
  );
  cmd.addCommand(
    new Command('list')
      .alias('ls')
      .description('every checkpoint of the home: instance it came from, image, created, size on disk')
      .option('--json', 'print them as JSON')
      .action(
        action(async (opts: { json?: boolean }, io: CommandIo) => {
          const { checkpoint } = await import('@stack/emulator');
          const all = await checkpoint.list({ trace: io.trace });
          if (opts.json) return void process.stdout.write(json({ ok: true, checkpoints: all }));
          if (all.length === 0) return void process.stdout.write('no checkpoints\n');
          const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
          const rows = all.map((c) => [c.name, c.instance, c.image.choice, c.createdAt, mib(c.bytes)]);
          const head = ['NAME', 'INSTANCE', 'IMAGE', 'CREATED', 'SIZE'];
          const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
          const line = (r: string[]) =>
            r
              .map((c, i) => c.padEnd(w[i]!))
              .join('  ')
              .trimEnd();
          process.stdout.write(`${[head, ...rows].map(line).join('\n')}\n`);
        }),
      ),
  );
  cmd.addCommand(
    new Command('rm')
      .description('remove checkpoint <name> (instances restored from it run on)')
      .argument('<name>', 'the checkpoint')
      .option('--json', 'print the result as JSON')
      .action(
        action(async (name: string, opts: { json?: boolean }, io: CommandIo) => {
          const { checkpoint } = await import('@stack/emulator');
          await checkpoint.rm(name, { trace: io.trace });
          process.stdout.write(opts.json ? json({ ok: true, removed: name }) : `removed checkpoint ${name}\n`);
        }),
      ),
  );
  for (const c of cmd.commands) c.option('--verbose', VERBOSE_HELP);
  return cmd;
}
