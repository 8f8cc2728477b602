import { Command, Option } from 'commander';
import { action, type CommandIo, withInstance } from './shared.js';

const shellQuote = (v: string) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replaceAll("'", "'\\''")}'`);

export function envCommand(): Command {
  return withInstance(new Command('env'))
    .description('print the credentials of the running emulator as environment variables')
    .addOption(new Option('--format <format>', 'output format').choices(['env', 'json']).default('env'))
    .option('--config-file <path>', 'credentials of the project for this config file instead of the internal project')
    .action(
      action(async (opts: { format: 'env' | 'json'; configFile?: string; instance?: string }, io: CommandIo) => {
        const { credentialsEnv } = await import('@stack/emulator');
        const env = await credentialsEnv({ instance: opts.instance, configFile: opts.configFile, trace: io.trace });
        process.stdout.write(
          opts.format === 'json'
            ? `${JSON.stringify(env, null, 2)}\n`
            : Object.entries(env)
                .map(([k, v]) => `${k}=${shellQuote(v)}\n`)
                .join(''),
        );
      }),
    );
}
