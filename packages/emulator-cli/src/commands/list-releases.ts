import { Command } from 'commander';
import { action, type CommandIo } from './shared.js';

export function listReleasesCommand(): Command {
  return new Command('list-releases')
    .description('list emulator image releases')
    .option('--repo <owner/name>', 'GitHub repository', 'stack-auth/stack-auth')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { repo: string; json?: boolean }, io: CommandIo) => {
        const { listReleases } = await import('@stack/emulator');
        const rows = await listReleases({ repo: opts.repo, trace: io.trace });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        if (rows.length === 0) process.stdout.write(`no emulator releases in ${opts.repo}\n`);
        for (const r of rows) process.stdout.write(`${r.tag}\t${r.status}\t${r.date}\n`);
      }),
    );
}
