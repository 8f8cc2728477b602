import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { artifactName } from '../../../../packages/release-fetcher/src/sources.js';

// The image workflow publishes what `stack-emulator pull` gives users for the Stack image: only the
// Stack appliance may ever reach a `stack-emulator-<arch>.qcow2` asset, and a change to any input of
// the image build must run it.
const root = resolve(import.meta.dirname, '..', '..', '..', '..');
const file = join(root, '.github', 'workflows', 'qemu-emulator-build.yaml');

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  strategy?: { matrix?: { include?: Array<Record<string, string>> } };
  steps: Step[];
}
interface Workflow {
  on: { push: { paths: string[] }; pull_request: { paths: string[] } };
  jobs: Record<string, Job>;
}

/** `${{ matrix.x }}` replaced for each matrix entry of the job (the text once when it has none). */
function expand(text: string, job: Job): string[] {
  const entries = job.strategy?.matrix?.include ?? [{}];
  return entries.map((m) => text.replace(/\$\{\{\s*matrix\.(\w+)\s*\}\}/g, (_, k: string) => m[k] ?? `<${k}>`));
}

const globRegExp = (glob: string) =>
  new RegExp(
    `^${glob
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

/** What each job builds and uploads: the appliance directories, the image files, the artifact names. */
function describeJobs(wf: Workflow) {
  return Object.entries(wf.jobs).map(([name, job]) => {
    const builds: Array<{ appliance: string; out: string }> = [];
    for (const step of job.steps) {
      for (const [, appliance, quoted, bare] of (step.run ?? '').matchAll(
        /stack-emulator-image build "?(images\/[\w-]+)"? -o (?:"([^"]+)"|(\S+))/g,
      )) {
        for (const o of expand(quoted ?? bare!, job)) builds.push({ appliance: appliance!, out: o });
      }
    }
    const uploads = job.steps
      .filter((s) => s.uses?.startsWith('actions/upload-artifact'))
      .flatMap((s) => expand(`${s.with?.name ?? ''}\n${s.with?.path ?? ''}`, job));
    const downloads = job.steps
      .filter((s) => s.uses?.startsWith('actions/download-artifact'))
      .map((s) => s.with?.pattern ?? s.with?.name ?? '');
    return {
      name,
      builds,
      uploads,
      downloads,
      publishes: job.steps.some((s) => /gh release (upload|create)/.test(s.run ?? '')),
    };
  });
}

function problems(wf: Workflow): string[] {
  const jobs = describeJobs(wf);
  const out: string[] = [];
  const releaseName = /(^|\/)stack-emulator-(amd64|arm64)\.qcow2$/;
  // `stack-emulator pull --pr N` takes the run's artifact qemu-emulator-<arch> (release-fetcher's artifactName).
  const prArtifact = /^qemu-emulator-(amd64|arm64)$/;
  for (const j of jobs) {
    for (const b of j.builds) {
      if (b.appliance !== 'images/stack' && releaseName.test(b.out))
        out.push(`${j.name} writes ${b.appliance} to the release name ${b.out}`);
    }
    const others = [...new Set(j.builds.map((b) => b.appliance))].filter((a) => a !== 'images/stack');
    for (const name of j.uploads.map((u) => u.split('\n')[0]!).filter((n) => prArtifact.test(n)))
      for (const a of others) out.push(`${j.name} uploads ${a} as ${name}`);
  }
  for (const p of jobs.filter((j) => j.publishes)) {
    for (const pattern of p.downloads) {
      const re = globRegExp(pattern);
      for (const j of jobs) {
        const names = j.uploads.map((u) => u.split('\n')[0]!);
        if (!names.some((n) => re.test(n))) continue;
        for (const a of new Set(j.builds.map((b) => b.appliance)))
          if (a !== 'images/stack') out.push(`${p.name} publishes artifacts of ${j.name}, which builds ${a}`);
      }
    }
  }
  return out;
}

const workflow = parse(readFileSync(file, 'utf8')) as Workflow;

describe('image workflow (qemu-emulator-build.yaml)', () => {
  it('builds images/stack into the release names and publishes only those', () => {
    const jobs = describeJobs(workflow);
    const stackOuts = jobs.flatMap((j) => j.builds.filter((b) => b.appliance === 'images/stack').map((b) => b.out));
    expect(stackOuts.sort()).toEqual(['out/stack-emulator-amd64.qcow2', 'out/stack-emulator-arm64.qcow2']);
    expect(jobs.filter((j) => j.publishes).map((j) => j.name)).toEqual(['publish']);
    expect(jobs.find((j) => j.name === 'build-stack')?.uploads.map((u) => u.split('\n')[0])).toContain(
      artifactName('arm64'),
    );
    expect(problems(workflow)).toEqual([]);
  });

  it('never uploads the reference appliance under the Stack release names', () => {
    const reference = describeJobs(workflow).flatMap((j) =>
      j.builds.filter((b) => b.appliance === 'images/reference').map((b) => b.out),
    );
    expect(reference.length).toBeGreaterThan(0);
    for (const out of reference) expect(out).not.toMatch(/(^|\/)stack-emulator-(amd64|arm64)\.qcow2$/);
  });

  it('the check fails for the workflow this replaced: reference built and published as stack-emulator-<arch>.qcow2', () => {
    const old: Workflow = {
      on: workflow.on,
      jobs: {
        build: {
          strategy: { matrix: { include: [{ arch: 'amd64' }, { arch: 'arm64' }] } },
          steps: [
            {
              run: 'npx stack-emulator-image build "images/${APPLIANCE}" -o "out/stack-emulator-${{ matrix.arch }}.qcow2"'.replace(
                '${APPLIANCE}',
                'reference',
              ),
            },
            {
              uses: 'actions/upload-artifact@v4',
              with: { name: 'qemu-emulator-${{ matrix.arch }}', path: 'out/stack-emulator-${{ matrix.arch }}.qcow2' },
            },
          ],
        },
        publish: {
          needs: 'build',
          steps: [
            { uses: 'actions/download-artifact@v4', with: { pattern: 'qemu-emulator-*' } },
            { run: 'gh release upload latest out/*' },
          ],
        },
      },
    };
    expect(problems(old)).toEqual([
      'build writes images/reference to the release name out/stack-emulator-amd64.qcow2',
      'build writes images/reference to the release name out/stack-emulator-arm64.qcow2',
      'build uploads images/reference as qemu-emulator-amd64',
      'build uploads images/reference as qemu-emulator-arm64',
      'publish publishes artifacts of build, which builds images/reference',
    ]);
  });

  it('runs for a change to any input of the image build', () => {
    const paths = workflow.on.push.paths;
    expect(workflow.on.pull_request.paths).toEqual(paths);
    const covered = (p: string) => paths.some((glob) => globRegExp(glob).test(p));
    // The image builder and every workspace package it depends on, transitively.
    const pkg = (dir: string) =>
      JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
      };
    const seen = new Set<string>();
    const visit = (dir: string) => {
      if (seen.has(dir)) return;
      seen.add(dir);
      for (const dep of Object.keys(pkg(dir).dependencies ?? {}))
        if (dep.startsWith('@stack/')) visit(dep.slice('@stack/'.length));
    };
    visit('emulator-image');
    for (const dir of seen) expect(covered(`packages/${dir}/src/index.ts`), `packages/${dir}`).toBe(true);
    // Every repository tool the workflow runs, the appliances, the lock file and the workflow itself.
    const runs = Object.values(workflow.jobs)
      .flatMap((j) => j.steps.map((s) => s.run ?? ''))
      .join('\n');
    for (const [, tool] of runs.matchAll(/(?:^|\s)(tools\/[\w.-]+)/g)) expect(covered(tool!), tool).toBe(true);
    for (const p of [
      'images/stack/user-data',
      'images/reference/bundle/provision.sh',
      'package-lock.json',
      '.github/workflows/qemu-emulator-build.yaml',
    ])
      expect(covered(p), p).toBe(true);
  });
});
