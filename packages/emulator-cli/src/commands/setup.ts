import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import type { SetupIo } from '@stack/emulator';
import { action, type CommandIo } from './shared.js';

/** The terminal's side of setup: questions on stdin/stderr, commands attached to the terminal. */
function terminalIo(json: boolean): SetupIo {
  return {
    ask: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return /^y(es)?$/i.test((await rl.question(question)).trim());
      } finally {
        rl.close();
      }
    },
    // stdio inherited: sudo asks for its password, apt-get and brew show their progress.
    run: (argv) =>
      new Promise((resolve) => {
        process.stderr.write(`$ ${argv.join(' ')}\n`);
        const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
        child.once('error', (e) => {
          process.stderr.write(`cannot run ${argv[0]}: ${e.message}\n`);
          resolve(127);
        });
        child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
      }),
    print: (line) => (json ? process.stderr : process.stdout).write(`${line}\n`),
  };
}

export function setupCommand(): Command {
  return new Command('setup')
    .description(
      'check the host tools the emulator needs (QEMU, qemu-img, firmware, zstd, socat) and install what is missing (Homebrew; apt-get, with sudo when not root)',
    )
    .option('--arch <arch>', 'guest architecture: amd64 or arm64 (default: EMULATOR_ARCH, else the host)')
    .option('--json', 'print what is missing and the commands as JSON; installs nothing')
    .addHelpText(
      'after',
      '\nAt a terminal it asks before running the commands; otherwise it only prints them.\nExit codes: 0 nothing is missing (any more), 1 something is missing.',
    )
    .action(
      action(async (opts: { arch?: string; json?: boolean }, io: CommandIo) => {
        const { setup } = await import('@stack/emulator');
        const json = opts.json === true;
        const r = await setup({
          arch: opts.arch as 'amd64' | 'arm64' | undefined,
          install: !json,
          io: terminalIo(json),
          trace: io.trace,
        });
        if (json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return r.ok ? 0 : 1;
      }),
    );
}
