import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { benchCommand } from './commands/bench.js';
import { captureCommand } from './commands/capture.js';
import { checkpointCommand } from './commands/checkpoint.js';
import { doctorCommand } from './commands/doctor.js';
import { envCommand } from './commands/env.js';
import { execCommand } from './commands/exec.js';
import { logsCommand } from './commands/logs.js';
import { VERBOSE_HELP } from './commands/shared.js';
import { listCommand } from './commands/list.js';
import { listReleasesCommand } from './commands/list-releases.js';
import { pruneCommand } from './commands/prune.js';
import { pullCommand } from './commands/pull.js';
import { resetCommand } from './commands/reset.js';
import { runCommand } from './commands/run.js';
import { setupCommand } from './commands/setup.js';
import { startCommand } from './commands/start.js';
import { statusCommand } from './commands/status.js';
import { stopCommand } from './commands/stop.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** Every command, new instances each call. */
export function emulatorCommands(): Command[] {
  const all = [
    startCommand(),
    stopCommand(),
    statusCommand(),
    listCommand(),
    envCommand(),
    runCommand(),
    execCommand(),
    logsCommand(),
    pullCommand(),
    listReleasesCommand(),
    resetCommand(),
    pruneCommand(),
    captureCommand(),
    checkpointCommand(),
    benchCommand(),
    doctorCommand(),
    setupCommand(),
  ];
  for (const c of all) if (c.name() !== 'checkpoint') c.option('--verbose', VERBOSE_HELP);
  return all;
}

/**
 * Adds the emulator's commands to another program, e.g. stack-cli's `stack emulator` group:
 * `registerCommands(program.command('emulator').description('...'))`. Usage errors exit 2 there too
 * when the host program uses exitOverride.
 */
export function registerCommands(parent: Command): Command {
  parent.enablePositionalOptions();
  for (const c of emulatorCommands()) parent.addCommand(c);
  return parent;
}

/** The stack-emulator command tree. Commands only parse and print; the logic lives in @stack/emulator and the other packages. */
export function createProgram(): Command {
  const program = new Command('stack-emulator')
    .description('Run the Stack Auth backend stack in a local QEMU virtual machine.')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError();
  return registerCommands(program);
}
