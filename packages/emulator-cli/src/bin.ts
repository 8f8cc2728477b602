#!/usr/bin/env node
import type { CommanderError } from 'commander';
import { createProgram } from './program.js';

// For `bench-startup` (bench/startup.bench.ts): the static imports above (commander and the command
// tree, not the runtime) are evaluated by now.
performance.mark('stack-emulator:loaded');

// A reader that went away (`| head`, `| grep -q`) is not an error: exit quietly, as cat does,
// instead of an unhandled EPIPE stack trace.
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
}

// Usage errors (unknown option, missing argument) exit 2; --help and --version exit 0. addCommand does
// not copy exitOverride to subcommands, so each gets it.
const onExit = (err: CommanderError) => process.exit(err.exitCode === 0 ? 0 : 2);
const program = createProgram().exitOverride(onExit);
for (const c of program.commands) c.exitOverride(onExit);
performance.mark('stack-emulator:registered');
program.parseAsync(process.argv).catch(async (e: unknown) => {
  // Actions report their own errors; this is for one thrown outside them. Loaded only then: the
  // reporter needs the runtime.
  const { reportError } = await import('./commands/report-error.js');
  process.exitCode = reportError(e, false);
});
