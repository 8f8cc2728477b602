import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline/promises';
import type { SetupIo } from '@stack/emulator';

// Apart from setup.ts, which builds the command: this is loaded by the action only, so that building
// the command tree (every command, even --version) does not load child_process and readline.

/** The terminal's side of setup: questions on stdin/stderr, commands attached to the terminal. */
export function terminalIo(json: boolean): SetupIo {
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
