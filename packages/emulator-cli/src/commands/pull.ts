import { Command } from 'commander';
import type { PullOptions } from '@stack/emulator';
import { action, interruptible, type CommandIo } from './shared.js';

export function pullCommand(): Command {
  return new Command('pull')
    .description('download the Stack image (resumable, verified), then capture its snapshot')
    .option('--arch <arch>', 'guest architecture: amd64 or arm64')
    .option('--branch <branch>', 'release branch: tag emulator-<branch>-latest', 'dev')
    .option('--tag <tag>', 'release tag')
    .option('--repo <owner/name>', 'GitHub repository', 'stack-auth/stack-auth')
    .option('--pr <number>', "the image built for a pull request (its latest successful build's artifact)")
    .option('--run <id>', "a workflow run's artifact")
    .option('--url <url>', 'a plain https URL (verified by its .sha256 sidecar or --sha256), or http with --sha256')
    .option('--image <path>', 'a local image file, or a directory holding stack-emulator-<arch>.qcow2 (offline)')
    .option('--sha256 <hex>', 'the expected sha256 (wins over any published digest; required for http:// URLs)')
    .option(
      '--timeout <seconds>',
      'give up on a transfer that sends nothing (or under 1 KiB/s) for this long; it is retried, resuming',
      '30',
    )
    .option(
      '--base-env <file>',
      "keep this base.env beside the image instead of generating one from the image's Stack sources",
    )
    .option('--skip-snapshot', 'do not capture the first snapshot now (the first start will)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      "\nGITHUB_TOKEN (or `gh auth token`) is used for GitHub; artifacts need it. HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured; NODE_EXTRA_CA_CERTS adds a CA (e.g. a corporate proxy's). The current image and its snapshots stay usable until the new image is verified.",
    )
    .action(
      action(
        async (
          opts: Omit<PullOptions, 'arch'> & { arch?: string; skipSnapshot?: boolean; json?: boolean },
          io: CommandIo,
        ) => {
          const [{ pull, capture }, { createReporter }] = await Promise.all([
            import('@stack/emulator'),
            import('../ui/reporter.js'),
          ]);
          const branchGiven =
            opts.tag !== undefined ||
            opts.pr !== undefined ||
            opts.run !== undefined ||
            opts.url !== undefined ||
            opts.image !== undefined;
          const arch = opts.arch as PullOptions['arch'];
          const reporter = await createReporter(io.trace);
          const r = await interruptible((signal) =>
            pull({ ...opts, arch, branch: branchGiven ? undefined : opts.branch, reporter, signal, trace: io.trace }),
          );
          reporter.info(
            `${r.unchanged ? 'unchanged' : 'installed'}: ${r.path} (sha256 ${r.sha256.slice(0, 12)}…, verified by ${r.verifiedBy}${r.resumedFrom ? `, resumed at ${r.resumedFrom} bytes` : ''})`,
          );
          if (r.droppedSnapshots) reporter.info(`removed ${r.droppedSnapshots} snapshot(s) of the replaced image`);
          if (r.session) reporter.info(r.session);
          if ('from' in r.baseEnv) reporter.info(`base environment: ${r.baseEnv.from}`);
          else reporter.warn(`no base environment beside the image yet: ${r.baseEnv.missing}`);
          let snapshotId: string | undefined;
          if (!opts.skipSnapshot) {
            snapshotId = (
              await interruptible((signal) => capture({ arch, image: 'stack', reporter, signal, trace: io.trace }))
            ).snapshotId;
          } else {
            reporter.info('snapshot not captured (--skip-snapshot): the first start captures it');
          }
          if (opts.json) process.stdout.write(`${JSON.stringify({ ok: true, ...r, snapshotId }, null, 2)}\n`);
        },
      ),
    );
}
