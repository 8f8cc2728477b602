import { Command } from 'commander';
import { resolveConfig } from '../config/resolve-config.js';
import { action } from './shared.js';

export function listReleasesCommand(): Command {
  return new Command('list-releases')
    .description('list emulator image releases')
    .option('--repo <owner/name>', 'GitHub repository', 'stack-auth/stack-auth')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { repo: string; json?: boolean }) => {
        const [{ isFetchError, listReleases }, { gitHubToken, pullError }] = await Promise.all([
          import('@stack/release-fetcher'),
          import('../lifecycle/pull.js'),
        ]);
        const config = resolveConfig();
        const all = await listReleases(opts.repo, { token: await gitHubToken(), apiBase: config.githubApi }).catch(
          (e: unknown) => {
            throw isFetchError(e) ? pullError(e) : e;
          },
        );
        const rel = all.filter((r) => `${r.tag_name} ${r.name ?? ''}`.toLowerCase().includes('emulator')).slice(0, 20);
        const rows = rel.map((r) => ({
          tag: r.tag_name,
          status: r.draft ? 'draft' : r.prerelease ? 'pre-release' : 'release',
          date: (r.published_at ?? r.created_at).slice(0, 10),
          assets: r.assets.map((a) => a.name),
        }));
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        if (rows.length === 0) process.stdout.write(`no emulator releases in ${opts.repo}\n`);
        for (const r of rows) process.stdout.write(`${r.tag}\t${r.status}\t${r.date}\n`);
      }),
    );
}
