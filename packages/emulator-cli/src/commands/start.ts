import { Command } from 'commander';
import { action, interruptible, type StartFlags, startFlags, withStartFlags, type CommandIo } from './shared.js';

export function startCommand(): Command {
  return withStartFlags(new Command('start'))
    .description(
      'start the emulator: resume a snapshot (capturing one the first time) or cold boot; fresh secrets every time',
    )
    .option('--force', 'start even when the memory check says the host cannot hold another instance')
    .option(
      '--from-checkpoint <name>',
      "begin at a checkpoint of the home (its data, RAM and secrets; fresh secrets with --rotate): the instance's own state is discarded",
    )
    .option('--json', 'print the result as JSON on stdout (progress stays on stderr)')
    .addHelpText(
      'after',
      '\nWith --config-file, stdout carries only the project credentials as JSON; all progress goes to stderr.\nExit codes: 0 started or already running, 1 failed, 2 bad input or busy port, 4 another command holds the instance, 5 not enough memory beside the running instances (--force), 130 interrupted.',
    )
    .action(
      action(async (opts: StartFlags & { json?: boolean; force?: boolean; fromCheckpoint?: string }, io: CommandIo) => {
        const [{ start }, { formatStartSummary }, { createReporter }] = await Promise.all([
          import('@stack/emulator'),
          import('../ui/format.js'),
          import('../ui/reporter.js'),
        ]);
        const reporter = await createReporter(io.trace);
        const em = await interruptible((signal) =>
          start({
            ...startFlags(opts),
            force: opts.force === true,
            ...(opts.fromCheckpoint !== undefined ? { fromCheckpoint: opts.fromCheckpoint } : {}),
            reporter,
            signal,
            trace: io.trace,
          }),
        );
        const { state, alreadyRunning, internalPckFile, instance } = em;
        if (em.configFile) {
          const c = await em.credentials();
          process.stderr.write(`${formatStartSummary(state, alreadyRunning, internalPckFile, instance)}\n`);
          process.stdout.write(
            `${JSON.stringify({ project_id: c.projectId, publishable_client_key: c.publishableClientKey, secret_server_key: c.secretServerKey }, null, 2)}\n`,
          );
        } else if (opts.json) {
          process.stdout.write(
            `${JSON.stringify({ ok: true, instance, alreadyRunning, ...state, internalPckFile }, null, 2)}\n`,
          );
        } else {
          process.stdout.write(`${formatStartSummary(state, alreadyRunning, internalPckFile, instance)}\n`);
        }
      }),
    );
}
