import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleStackCheckout } from '../../../../tools/testing/stack-checkout.js';
import { generateStackBaseEnv, parseEnvFile, STACK_BASE_ENV_KEYS } from '../../src/index.js';

// tools/stack-base-env against a directory shaped like a Stack checkout.
const tool = new URL('../../../../tools/stack-base-env', import.meta.url).pathname;

describe('tools/stack-base-env', () => {
  it('writes the base environment of a checkout, every variable of the list', () => {
    const checkout = sampleStackCheckout();
    const out = join(checkout, 'base.env');
    execFileSync(tool, [checkout, '-o', out], { stdio: 'pipe' });
    expect([...parseEnvFile(readFileSync(out, 'utf8')).keys()]).toEqual([...STACK_BASE_ENV_KEYS]);
    writeFileSync(join(checkout, 'apps', 'backend', '.env.development'), 'STACK_SERVER_SECRET=x\n');
    const r = spawnSync(tool, [checkout], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/lack .*STACK_CHANGELOG_URL/);
  });

  it('--bundle writes the module @stack/emulator carries: the release, its commit (HEAD of a git checkout), and the bytes start generates for it', async () => {
    const checkout = sampleStackCheckout();
    const out = join(checkout, 'bundled-base-env.ts');
    // Not a git checkout: the commit must be named.
    const r = spawnSync(tool, [checkout, '--bundle', 'emulator-dev-latest', '-o', out], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--commit');
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', checkout, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' });
    git('init', '-q');
    git('add', 'apps');
    git('commit', '-qm', 'sample');
    const head = git('rev-parse', 'HEAD').trim();
    execFileSync(tool, [checkout, '--bundle', 'emulator-dev-latest', '-o', out], { stdio: 'pipe' });
    const { BUNDLED_BASE_ENV: b } = (await import(pathToFileURL(out).href)) as {
      BUNDLED_BASE_ENV: { repo: string; ref: string; commit: string; lines: string[] };
    };
    expect(b).toMatchObject({ repo: 'stack-auth/stack-auth', ref: 'emulator-dev-latest', commit: head });
    const read = (p: string) => readFileSync(join(checkout, 'apps', p, '.env.development'), 'utf8');
    expect(`${b.lines.join('\n')}\n`).toBe(
      generateStackBaseEnv(
        { backend: read('backend'), dashboard: read('dashboard') },
        { source: 'stack-auth/stack-auth at emulator-dev-latest' },
      ),
    );
    expect(spawnSync(tool, [checkout, '--bundle', 'x', '--commit', 'abc', '-o', out]).status).toBe(2);
  });
});
