#!/usr/bin/env node
import type { CommanderError } from 'commander';
import { reportError } from './commands/shared.js';
import { createProgram } from './program.js';

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
program.parseAsync(process.argv).catch((e: unknown) => {
  process.exitCode = reportError(e, false);
});
