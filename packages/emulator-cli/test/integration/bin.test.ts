import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const bin = new URL('../../dist/bin.js', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

describe('stack-emulator bin (built)', () => {
  it('prints its version', () => {
    expect(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim()).toBe(pkg.version);
  });
  it('starts with a node shebang so npx can run it', () => {
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
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
