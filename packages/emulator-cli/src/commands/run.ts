import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { Command } from 'commander';
import {
  action,
  type CommandIo,
  INTERRUPT_SIGNALS,
  interruptible,
  type StartFlags,
  startFlags,
  withStartFlags,
} from './shared.js';

/** Runs the child with the credentials; resolves with its exit code (128 + signal when killed). */
function runChild(argv: string[], env: Record<string, string>): Promise<number> {
  // One argument may be a shell command line ("npm test && npm run e2e"), as in the original.
  const child =
    argv.length === 1
      ? spawn(argv[0]!, { shell: true, stdio: 'inherit', env: { ...process.env, ...env } })
      : spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env: { ...process.env, ...env } });
  // The child gets the interrupt (and decides); this process stays to stop the emulator afterwards.
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  for (const s of INTERRUPT_SIGNALS) process.on(s, forward);
  return new Promise((resolve) => {
    child.once('error', (e) => {
      process.stderr.write(`Error: cannot run ${argv[0]}: ${e.message}\n`);
      resolve(127);
    });
    child.once('close', (code, signal) => {
      for (const s of INTERRUPT_SIGNALS) process.off(s, forward);
      resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
    });
  });
}

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
        const [{ start }, { createReporter }] = await Promise.all([
          import('@stack/emulator'),
          import('../ui/reporter.js'),
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
