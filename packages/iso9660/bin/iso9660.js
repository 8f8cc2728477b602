#!/usr/bin/env node
// The package's bin: a file kept in the repository, not in dist/, so that npm links it when the
// workspace is installed, before anything is built (a bin pointing into dist/ was left unlinked on a
// fresh clone, and `npx` then asked the registry for the package). It only loads the built CLI.
import '../dist/cli.js';
