import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { resolveConfig } from '../config/resolve-config.js';
import { EmulatorError } from '../errors.js';
import { action } from './shared.js';

const shellQuote = (v: string) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replaceAll("'", "'\\''")}'`);

export function envCommand(): Command {
  return new Command('env')
    .description('print the credentials of the running emulator as environment variables')
    .addOption(new Option('--format <format>', 'output format').choices(['env', 'json']).default('env'))
    .option('--config-file <path>', 'credentials of the project for this config file instead of the internal project')
    .action(
      action(async (opts: { format: 'env' | 'json'; configFile?: string }) => {
        const [{ credentialEnv, credentials }, { runningInstance }] = await Promise.all([
          import('../lifecycle/credentials.js'),
          import('../lifecycle/instance.js'),
        ]);
        const config = resolveConfig();
        const state = await runningInstance(config);
        if (!state)
          throw new EmulatorError('NOT_RUNNING', 'the emulator is not running', {
            hint: 'start it with `stack-emulator start`',
          });
        const env = credentialEnv(
          await credentials(config, state, opts.configFile ? resolve(opts.configFile) : undefined),
        );
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
