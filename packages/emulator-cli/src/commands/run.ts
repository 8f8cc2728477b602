import { Command } from 'commander';
import { action, type CommandIo, interruptible, type StartFlags, startFlags, withStartFlags } from './shared.js';

export function runCommand(): Command {
  return withStartFlags(new Command('run'))
    .description(
      "run a command with the emulator's credentials in its environment (starts the emulator if needed, and then stops it afterwards)",
    )
    .argument('<command...>', 'the command; put `--` before it when it has options of its own')
    .passThroughOptions()
    .addHelpText(
      'after',
      "\nWith --config-file, the project's credentials are injected: STACK_PROJECT_ID, STACK_PUBLISHABLE_CLIENT_KEY, STACK_API_URL (also with NEXT_PUBLIC_, VITE_, EXPO_PUBLIC_ prefixes) and STACK_SECRET_SERVER_KEY; without it the environment is left as it is.\nThe exit code is the command's (128 + N when it died of signal N).",
    )
    .action(
      action(async (argv: string[], opts: StartFlags, io: CommandIo) => {
        const [{ start }, { createReporter }, { runChild }] = await Promise.all([
          import('@stack/emulator'),
          import('../ui/reporter.js'),
          import('./run-child.js'),
        ]);
        const reporter = await createReporter(io.trace);
        const em = await interruptible((signal) => start({ ...startFlags(opts), reporter, signal, trace: io.trace }));
        const { state, alreadyRunning, reshared } = em;
        const who = em.instance === 'default' ? 'emulator' : `instance ${em.instance}`;
        reporter.info(
          alreadyRunning ? `reusing the running ${who} (pid ${state.pid})` : `${who} started (${state.mode})`,
        );
        try {
          // As the original: credentials only for a project (--config-file); a command configured by its
          // own .env must not find the internal project's keys laid over it.
          const env = em.configFile ? await em.env() : {};
          return await runChild(argv, env);
        } finally {
          // An emulator that was running before (also one resumed to share this project) stays running.
          if (!alreadyRunning && !reshared) {
            reporter.info(`stopping the ${who} (this command started it)`);
            await interruptible((signal) => em.stop({ signal })).catch((e: Error) =>
              reporter.warn(`failed to stop the ${who} cleanly: ${e.message}`),
            );
          }
        }
      }),
    );
}
