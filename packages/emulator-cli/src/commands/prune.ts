import { Command } from 'commander';
import { action, type CommandIo } from './shared.js';

const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;

export function pruneCommand(): Command {
  return new Command('prune')
    .description(
      'remove what nothing will use again: quarantined or stale snapshots (another image, QEMU or kernel), sessions set aside, older appliance builds, the original tool’s snapshot files; never the session or what a start would use',
    )
    .option('--dry-run', 'only list what would be removed and what it frees')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (opts: { dryRun?: boolean; json?: boolean }, io: CommandIo) => {
        const { prune } = await import('@stack/emulator');
        const r = await prune({ dryRun: opts.dryRun === true, trace: io.trace });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ ok: true, ...r }, null, 2)}\n`);
          return;
        }
        if (r.items.length === 0) return void process.stdout.write('nothing to prune\n');
        for (const i of r.items) process.stdout.write(`${gb(i.bytes).padStart(9)}  ${i.why}\n           ${i.path}\n`);
        const total = r.items.reduce((n, i) => n + i.bytes, 0);
        process.stdout.write(
          r.dryRun ? `would free ${gb(total)} (run without --dry-run to remove)\n` : `freed ${gb(r.freed)}\n`,
        );
      }),
    );
}
