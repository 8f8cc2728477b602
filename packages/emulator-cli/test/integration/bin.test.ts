import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z as Zod } from 'zod';
import { runIntoClosedPipe } from '../../../../tools/testing/closed-pipe.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
/** The bin the package publishes. */
const bin = new URL(`../../${pkg.bin['stack-emulator']}`, import.meta.url).pathname;

describe('stack-emulator bin (built)', () => {
  it('prints its version', () => {
    expect(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim()).toBe(pkg.version);
  });
  it('starts with a node shebang so npx can run it', () => {
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
  it('is bundled: its files import only Node built-ins and each other, so it starts without resolving ~150 modules', () => {
    // esbuild's own account of every import of every output file (scripts/bundle.mjs writes it); a
    // scan of the text would also find import() types in bundled JSDoc comments.
    const dist = join(dirname(bin), '..', 'dist');
    const meta = JSON.parse(readFileSync(join(dist, 'cli.meta.json'), 'utf8')) as {
      outputs: Record<string, { imports: Array<{ path: string; kind: string; external?: boolean }> }>;
    };
    const outputs = Object.keys(meta.outputs).filter((f) => f.endsWith('.js'));
    expect(outputs.filter((f) => /cli-chunk-/.test(f)).length).toBeGreaterThan(0); // lazily loaded commands are chunks of their own
    const imports = Object.values(meta.outputs).flatMap((o) => o.imports);
    expect(imports.length).toBeGreaterThan(0);
    expect(
      imports
        .filter((i) => !i.path.startsWith('node:') && !isBuiltin(i.path) && !/(^|\/)cli-chunk-[\w-]+\.js$/.test(i.path))
        .map((i) => i.path),
    ).toEqual([]);
    expect(readdirSync(dist).filter((f) => /^cli(-chunk-[\w-]+)?\.js$/.test(f)).length).toBe(outputs.length);
  });
  it("bundles zod's English locale only (the others were a third of the runtime chunk), and zod still speaks English", async () => {
    const dist = join(dirname(bin), '..', 'dist');
    const meta = JSON.parse(readFileSync(join(dist, 'cli.meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    const locales = Object.keys(meta.inputs).filter((k) => /zod\/v4\/locales\/(?!en\.js$)/.test(k));
    expect(locales).toEqual([]);
    // The chunk that exports zod's namespace: its default messages are English, its locales only en.
    for (const f of readdirSync(dist).filter((n) => /^cli-chunk-[\w-]+\.js$/.test(n))) {
      const m = (await import(join(dist, f))) as Record<string, unknown>;
      const z = Object.values(m).find(
        (v): v is typeof Zod =>
          typeof (v as typeof Zod | undefined)?.object === 'function' && Boolean((v as typeof Zod).locales),
      );
      if (!z) continue;
      expect(Object.keys(z.locales)).toEqual(['en']);
      expect(z.number().safeParse('x').error?.issues[0]?.message).toBe(
        'Invalid input: expected number, received string',
      );
      return;
    }
    expect.fail('no chunk exports zod');
  });
  it('is linked by the workspace install (a file of the repository, there before any build)', () => {
    const root = join(dirname(bin), '..', '..', '..');
    expect(realpathSync(join(root, 'node_modules', '.bin', 'stack-emulator'))).toBe(realpathSync(bin));
    expect(
      execFileSync('npx', ['--no-install', 'stack-emulator', '--version'], { cwd: root, encoding: 'utf8' }).trim(),
    ).toBe(pkg.version);
  });
});

describe('stack-emulator commands (built, no VM)', () => {
  const run = (args: string[], env: Record<string, string> = {}) => {
    try {
      return {
        code: 0,
        out: execFileSync(process.execPath, [bin, ...args], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, ...env },
        }),
      };
    } catch (e) {
      const err = e as { status: number; stdout: string; stderr: string };
      return { code: err.status, out: err.stdout + err.stderr };
    }
  };

  it('lists every lifecycle command in --help', () => {
    const help = run(['--help']).out;
    for (const c of ['start', 'stop', 'status', 'env', 'run', 'reset', 'capture', 'bench', 'doctor'])
      expect(help).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  });

  it('doctor probes this host without starting anything, as JSON', () => {
    const r = run(['doctor', '--json', '--arch', 'amd64'], {
      STACK_EMULATOR_HOME: '/tmp/stack-emulator-empty-home-for-test',
    });
    expect(r.code, r.out).toBe(0);
    const report = JSON.parse(r.out) as {
      ok: boolean;
      findings: Array<{ check: string; level: string; detail: string }>;
    };
    const by = Object.fromEntries(report.findings.map((f) => [f.check, f]));
    expect(report.ok).toBe(true);
    expect(by.qemu).toMatchObject({ level: 'ok', detail: expect.stringMatching(/qemu-system-x86_64 \d+\.\d+\.\d+/) });
    expect(by.accelerator?.detail).toMatch(/^(kvm|tcg): /);
    expect(by['host share (9p)']?.level).toBe('ok');
    expect(by.snapshots?.detail).toMatch(/format$/);
  });

  it('a reader that went away (| head, | grep -q) ends it quietly, without an EPIPE stack trace', async () => {
    const r = await runIntoClosedPipe(bin, ['--help']);
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
    expect(r.code).toBe(0);
  });

  it('exits 2 on a usage error, and on a bad flag value of any command', () => {
    expect(run(['start', '--no-such-flag']).code).toBe(2);
    const empty = { STACK_EMULATOR_HOME: '/tmp/stack-emulator-empty-home-for-test' };
    const stop = run(['stop', '--timeout', 'soon'], empty);
    expect(stop.code).toBe(2);
    expect(stop.out).toContain('--timeout soon: give a number of seconds from 0 to 86400');
    expect(run(['bench', '--runs', '0'], empty).code).toBe(2);
    expect(run(['bench', '--scenarios', 'warp'], empty).out).toContain('unknown scenario warp');
    expect(run(['status'], { ...empty, EMULATOR_CPUS: '100000' }).code).toBe(2);
  });

  it('env exits 3 when nothing runs', () => {
    const r = run(['env'], { STACK_EMULATOR_HOME: '/tmp/stack-emulator-empty-home-for-test' });
    expect(r.code).toBe(3);
    expect(r.out).toContain('not running');
  });
});

describe('embedding (stack-cli mounts the commands as `stack emulator ...`)', () => {
  it('registerCommands adds every command under another program, and they run there', async () => {
    const { Command } = await import('commander');
    const { registerCommands } = await import('../../src/index.js');
    const host = new Command('stack');
    const group = registerCommands(host.command('emulator').description('Manage the QEMU local emulator'));
    expect(group.commands.map((c) => c.name())).toEqual(
      expect.arrayContaining(['start', 'stop', 'status', 'env', 'run', 'pull', 'doctor']),
    );
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
    const env = process.env.STACK_EMULATOR_HOME;
    process.env.STACK_EMULATOR_HOME = '/tmp/stack-emulator-embedded-home-for-test';
    try {
      await host.parseAsync(['node', 'stack', 'emulator', 'status', '--json']);
    } finally {
      process.stdout.write = write;
      if (env === undefined) delete process.env.STACK_EMULATOR_HOME;
      else process.env.STACK_EMULATOR_HOME = env;
    }
    expect(JSON.parse(out)).toMatchObject({ vm: 'stopped' });
    expect(process.exitCode).toBe(3);
    process.exitCode = 0;
  });
});
