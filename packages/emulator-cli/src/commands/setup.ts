import { Command } from 'commander';
import { action, type CommandIo } from './shared.js';

export function setupCommand(): Command {
  return new Command('setup')
    .description(
      'check the host tools the emulator needs (QEMU, qemu-img, firmware, zstd, socat) and install what is missing (Homebrew; apt-get, with sudo when not root)',
    )
    .option('--arch <arch>', 'guest architecture: amd64 or arm64 (default: EMULATOR_ARCH, else the host)')
    .option('--json', 'print what is missing and the commands as JSON; installs nothing')
    .addHelpText(
      'after',
      '\nAt a terminal it asks before running the commands; otherwise it only prints them.\nExit codes: 0 nothing is missing (any more), 1 something is missing.',
    )
    .action(
      action(async (opts: { arch?: string; json?: boolean }, io: CommandIo) => {
        const [{ setup }, { terminalIo }] = await Promise.all([import('@stack/emulator'), import('./terminal-io.js')]);
        const json = opts.json === true;
        const r = await setup({
          arch: opts.arch as 'amd64' | 'arm64' | undefined,
          install: !json,
          io: terminalIo(json),
          trace: io.trace,
        });
        if (json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return r.ok ? 0 : 1;
      }),
    );
}
