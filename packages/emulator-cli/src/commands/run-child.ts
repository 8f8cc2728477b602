import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { INTERRUPT_SIGNALS } from './shared.js';

// Apart from run.ts, which builds the command: this is loaded by the action only, so that building
// the command tree (every command, even --version) does not load child_process.

/** Runs the child with the credentials; resolves with its exit code (128 + signal when killed). */
export function runChild(argv: string[], env: Record<string, string>): Promise<number> {
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
