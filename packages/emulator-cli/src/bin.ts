#!/usr/bin/env node
import type { CommanderError } from 'commander';
import { reportError } from './commands/shared.js';
import { createProgram } from './program.js';

const program = createProgram().exitOverride((err: CommanderError) => {
  // Usage errors (unknown option, missing argument) exit 2; --help and --version exit 0.
  process.exit(err.exitCode === 0 ? 0 : 2);
});
program.parseAsync(process.argv).catch((e: unknown) => {
  process.exitCode = reportError(e, false);
});
