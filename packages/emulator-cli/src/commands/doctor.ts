import { Command } from 'commander';
import { action, type CommandIo } from './shared.js';

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check this host: QEMU, accelerator, firmware, host shares, snapshot format, tools (starts nothing)')
    .option('--arch <arch>', 'guest architecture: amd64 or arm64 (default: EMULATOR_ARCH, else the host)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 the emulator can run here, 1 something stops every start (see the failed checks).',
    )
    .action(
      action(async (opts: { arch?: string; json?: boolean }, io: CommandIo) => {
        const { doctor } = await import('@stack/emulator');
        const r = await doctor({ arch: opts.arch as 'amd64' | 'arm64' | undefined, trace: io.trace });
        if (opts.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else
          for (const f of r.findings)
            process.stdout.write(
              `${f.level === 'ok' ? '✓' : f.level === 'warn' ? '!' : '✗'} ${f.check.padEnd(16)} ${f.detail}\n`,
            );
        return r.ok ? 0 : 1;
      }),
    );
}
