import { readFileSync } from 'node:fs';
import { Command } from 'commander';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** The stack-emulator command tree. Commands only parse and print; the logic lives in packages. */
export function createProgram(): Command {
  return new Command('stack-emulator')
    .description('Run the Stack Auth backend stack in a local QEMU virtual machine.')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError();
}
