#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { buildAppliance } from './provision.js';
import type { Arch } from '@stack/internal';

// A reader that went away (`| head`, `| grep -q`) is not an error: exit quietly, as cat does,
// instead of an unhandled EPIPE stack trace.
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
}

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

function arch(value: string): Arch {
  if (value !== 'amd64' && value !== 'arm64')
    throw new InvalidArgumentError(`"${value}" is not an architecture; use amd64 or arm64`);
  return value;
}

const program = new Command('stack-emulator-image')
  .description('Build emulator appliance images by driving cloud-init provisioning.')
  .version(pkg.version, '--version');

program
  .command('build')
  .description('build an appliance directory into a compressed qcow2 (+ .sha256 and .log beside it)')
  .argument('<appliance-dir>', 'directory with user-data, meta-data and an optional bundle/ and packages.txt')
  .requiredOption('-o, --output <image.qcow2>', 'image to write')
  .option('--arch <arch>', 'amd64 or arm64', arch, process.arch === 'arm64' ? 'arm64' : 'amd64')
  .option('--timeout <seconds>', 'provisioning time limit', (v) => Number(v), 900)
  .option('--verbose', 'print the guest console as it arrives')
  .action(async (dir: string, o: { output: string; arch: Arch; timeout: number; verbose?: boolean }) => {
    const t0 = Date.now();
    const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
    const r = await buildAppliance({
      applianceDir: dir,
      output: o.output,
      arch: o.arch,
      timeoutMs: o.timeout * 1000,
      onPhase: (p) => console.error(`[${elapsed()}] ${p}`),
      onConsole: (line) => {
        if (o.verbose || line.includes('stack-provision:')) console.error(`[${elapsed()}]   guest: ${line.trim()}`);
      },
    });
    console.error(`[${elapsed()}] done: ${r.output} (sha256 ${r.sha256.slice(0, 16)}…, log ${r.log})`);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`stack-emulator-image: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
