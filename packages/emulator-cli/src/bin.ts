#!/usr/bin/env node
import type { CommanderError } from 'commander';
import { reportError } from './commands/shared.js';
import { createProgram } from './program.js';

// Usage errors (unknown option, missing argument) exit 2; --help and --version exit 0. addCommand does
// not copy exitOverride to subcommands, so each gets it.
const onExit = (err: CommanderError) => process.exit(err.exitCode === 0 ? 0 : 2);
const program = createProgram().exitOverride(onExit);
for (const c of program.commands) c.exitOverride(onExit);
program.parseAsync(process.argv).catch((e: unknown) => {
  process.exitCode = reportError(e, false);
});
