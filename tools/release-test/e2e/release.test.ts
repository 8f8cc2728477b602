import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTarball, pack } from '../src/package-checks.js';
import { type LocalRegistry, startRegistry } from '../src/verdaccio.js';

// Every package as users get it: packed by npm, checked, published to a throwaway Verdaccio, then
// used from a clean directory outside the repository with nothing but npm/npx and env variables.
const root = resolve(import.meta.dirname, '..', '..', '..');
const packages = readdirSync(join(root, 'packages')).filter((d) =>
  existsSync(join(root, 'packages', d, 'package.json')),
);
const work = mkdtempSync(join(tmpdir(), 'release-test-'));
let registry: LocalRegistry | undefined;
const tarballs = new Map<string, { tarball: string; files: string[]; version: string }>();

const run = (cmd: string, args: string[], cwd: string, extra: Record<string, string> = {}) =>
  spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...registry!.env, ...extra },
    timeout: 600_000,
  });

beforeAll(async () => {
  registry = await startRegistry(join(work, 'registry'));
  const dest = join(work, 'tarballs');
  mkdirSync(dest);
  for (const p of packages) {
    const r = pack(join(root, 'packages', p), dest);
    tarballs.set(r.name, r);
  }
  for (const { tarball } of tarballs.values()) {
    const r = run('npm', ['publish', tarball, '--tag', 'latest'], work);
    if (r.status !== 0) throw new Error(`npm publish ${tarball} failed: ${r.stderr}`);
  }
}, 600_000);

afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('published packages', () => {
  it('every package ships its dist, and passes publint and are-the-types-wrong', async () => {
    expect(tarballs.size).toBe(packages.length);
    for (const [name, t] of tarballs) {
      expect(t.files, name).toContain('dist/index.js');
      expect(t.files, name).toContain('dist/index.d.ts');
      expect(
        t.files.some((f) => f.endsWith('.test.js')),
        name,
      ).toBe(false);
      expect(await checkTarball(t.tarball), name).toEqual([]);
    }
  });

  it('npx @stack/emulator-cli runs from a clean directory: --version, --help, status --json', () => {
    const dir = mkdtempSync(join(work, 'npx-'));
    const version = tarballs.get('@stack/emulator-cli')!.version;
    const home = join(dir, 'home');
    const v = run('npx', ['--yes', '@stack/emulator-cli', '--version'], dir);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(version);
    const h = run('npx', ['--yes', '@stack/emulator-cli', '--help'], dir);
    expect(h.stdout).toMatch(/^ {2}start\b/m);
    const s = run('npx', ['--yes', '@stack/emulator-cli', 'status', '--json'], dir, { STACK_EMULATOR_HOME: home });
    expect(s.status, s.stderr).toBe(3);
    expect(JSON.parse(s.stdout)).toMatchObject({ vm: 'stopped', healthy: false });
  }, 600_000);

  it('@stack/iso9660 alone: its bin writes an image that its library reads back (ESM; the package claims no CommonJS)', () => {
    const dir = mkdtempSync(join(work, 'iso-'));
    writeFileSync(join(dir, 'package.json'), '{"name":"consumer","private":true,"type":"module"}');
    const i = run('npm', ['install', '@stack/iso9660'], dir);
    expect(i.status, i.stderr).toBe(0);
    expect(readdirSync(join(dir, 'node_modules', '@stack'))).toEqual(['iso9660']);
    const manifest = JSON.parse(readFileSync(join(dir, 'node_modules', '@stack', 'iso9660', 'package.json'), 'utf8'));
    expect(JSON.stringify(manifest.exports)).not.toContain('"require"');
    mkdirSync(join(dir, 'src', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'src', 'sub', 'hello.txt'), 'hello from the release test\n');
    const c = run('npx', ['iso9660', 'create', 'src', '-o', 'out.iso', '-V', 'RTEST'], dir);
    expect(c.status, c.stderr).toBe(0);
    const read = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { IsoReader } from '@stack/iso9660'; const r = await IsoReader.open('out.iso'); process.stdout.write((await r.readFile('sub/hello.txt')).toString());",
      ],
      dir,
    );
    expect(read.status, read.stderr).toBe(0);
    expect(read.stdout).toBe('hello from the release test\n');
  }, 600_000);

  it('@stack/emulator from a clean directory: imports in node, validates before starting anything, type-checks with tsc', () => {
    const dir = mkdtempSync(join(work, 'lib-'));
    const home = join(dir, 'home');
    writeFileSync(join(dir, 'package.json'), '{"name":"consumer","private":true,"type":"module"}');
    // The compiler and Node's types at the repository's versions, as a user's project would have them.
    const devDeps = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies;
    const deps = ['@stack/emulator', `typescript@${devDeps.typescript}`, `@types/node@${devDeps['@types/node']}`];
    const i = run('npm', ['install', ...deps], dir);
    expect(i.status, i.stderr).toBe(0);
    // An instance name that is not one: CONFIG_INVALID from the options' check, before any file or VM.
    const script = `import { start, isEmulatorError } from '@stack/emulator';
      try { await start({ instance: 'Not A Name', env: { STACK_EMULATOR_HOME: ${JSON.stringify(home)} } }); }
      catch (e) { console.log(JSON.stringify({ code: e.code, branded: isEmulatorError(e), hint: e.hint })); }`;
    const n = run(process.execPath, ['--input-type=module', '-e', script], dir);
    expect(n.status, n.stderr).toBe(0);
    expect(JSON.parse(n.stdout)).toMatchObject({ code: 'CONFIG_INVALID', branded: true, hint: expect.any(String) });
    expect(existsSync(home)).toBe(false);
    const tsconfig = {
      compilerOptions: {
        module: 'nodenext',
        target: 'es2023',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
      },
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    writeFileSync(
      join(dir, 'use.ts'),
      `import { type Emulator, type StartOptions, isEmulatorError, start, status } from '@stack/emulator';
      const options: StartOptions = { image: 'reference', ephemeral: true, env: {} };
      export async function use(): Promise<string> {
        const emulator: Emulator = await start(options);
        const r = await emulator.exec({ argv: ['true'] });
        await emulator.stop();
        return \`\${emulator.urls.api} \${r.exitCode} \${r.stdout.length} \${(await status()).vm}\`;
      }
      export const invalid = (e: unknown) => isEmulatorError(e) && e.code === 'CONFIG_INVALID';\n`,
    );
    const tsc = run('npx', ['tsc', '-p', '.'], dir);
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    // The same check fails on an option start does not take: the published types are not `any`.
    writeFileSync(
      join(dir, 'wrong.ts'),
      "import { start } from '@stack/emulator';\nawait start({ notAnOption: true });\n",
    );
    const wrong = run('npx', ['tsc', '-p', '.'], dir);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).toMatch(/wrong\.ts.*notAnOption/);
  }, 600_000);

  it('a package whose files omit dist is caught', async () => {
    const broken = join(work, 'broken');
    cpSync(join(root, 'packages', 'iso9660'), broken, {
      recursive: true,
      filter: (src) => !src.includes('node_modules'),
    });
    const manifest = JSON.parse(readFileSync(join(broken, 'package.json'), 'utf8'));
    manifest.files = ['README.md'];
    writeFileSync(join(broken, 'package.json'), JSON.stringify(manifest, null, 2));
    const dest = mkdtempSync(join(work, 'broken-tgz-'));
    const t = pack(broken, dest);
    expect(t.files).not.toContain('dist/index.js');
    const problems = await checkTarball(t.tarball);
    expect(problems.join('\n')).toMatch(/dist\/index\.js/);
  });
});
