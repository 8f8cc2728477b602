import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

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
    const dir = dirname(bin);
    const files = readdirSync(dir).filter((f) => /^cli(-chunk-[\w-]+)?\.js$/.test(f));
    expect(files.length).toBeGreaterThan(1); // lazily loaded commands are chunks of their own
    const specifiers = files.flatMap((f) => [...readFileSync(join(dir, f), 'utf8').matchAll(/(?:^import[^'"]*?from\s*|\bimport\(\s*)['"]([^'"]+)['"]/gm)].map((m) => m[1]!));
    expect(specifiers.length).toBeGreaterThan(0);
    expect(specifiers.filter((s) => !s.startsWith('node:') && !/^\.\/cli-chunk-[\w-]+\.js$/.test(s))).toEqual([]);
  });
});

describe('stack-emulator commands (built, no VM)', () => {
  const run = (args: string[], env: Record<string, string> = {}) => {
    try {
      return { code: 0, out: execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }) };
    } catch (e) {
      const err = e as { status: number; stdout: string; stderr: string };
      return { code: err.status, out: err.stdout + err.stderr };
    }
  };

  it('lists every lifecycle command in --help', () => {
    const help = run(['--help']).out;
    for (const c of ['start', 'stop', 'status', 'env', 'run', 'reset', 'capture', 'bench']) expect(help).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  });

  it('exits 2 on a usage error', () => {
    expect(run(['start', '--no-such-flag']).code).toBe(2);
  });

  it('env exits 3 when nothing runs', () => {
    const r = run(['env'], { STACK_EMULATOR_HOME: '/tmp/stack-emulator-empty-home-for-test' });
    expect(r.code).toBe(3);
    expect(r.out).toContain('not running');
  });
});
