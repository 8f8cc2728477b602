// Preloaded by startup.bench.ts (`node --import <this> <bin> ...`): on exit, writes the CLI's
// performance marks (milliseconds since the process started) and its CPU time as JSON to
// STARTUP_MARKS_FILE. Kept out of the bin itself so that a user's run pays for nothing but the marks.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import process from 'node:process';

const file = process.env.STARTUP_MARKS_FILE;
// When the preload ran: Node's own bootstrap, before any of the CLI's code.
const preload = performance.now();
process.on('exit', () => {
  if (!file) return;
  const marks = Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime]));
  // CPU time (user + system) as well: on a loaded machine it moves far less than the wall clock.
  const { user, system } = process.cpuUsage();
  writeFileSync(file, JSON.stringify({ preload, ...marks, exit: performance.now(), cpu: (user + system) / 1000 }));
});
