import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEnvFile, STACK_BASE_ENV, STACK_BASE_ENV_KEYS } from '../../src/index.js';

// tools/stack-base-env against a directory shaped like a Stack checkout.
const tool = new URL('../../../../tools/stack-base-env', import.meta.url).pathname;

describe('tools/stack-base-env', () => {
  it('writes the base environment of a checkout, every variable of the list', () => {
    const checkout = mkdtempSync(join(tmpdir(), 'stack-checkout-'));
    for (const app of ['backend', 'dashboard'] as const) {
      mkdirSync(join(checkout, 'apps', app), { recursive: true });
      writeFileSync(join(checkout, 'apps', app, '.env.development'), STACK_BASE_ENV.filter((e) => 'from' in e && e.from === app).map((e) => `${e.key}=v-${e.key}`).join('\n'));
    }
    const out = join(checkout, 'base.env');
    execFileSync(tool, [checkout, '-o', out], { stdio: 'pipe' });
    expect([...parseEnvFile(readFileSync(out, 'utf8')).keys()]).toEqual([...STACK_BASE_ENV_KEYS]);
    writeFileSync(join(checkout, 'apps', 'backend', '.env.development'), 'STACK_SERVER_SECRET=x\n');
    const r = spawnSync(tool, [checkout], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/lack .*STACK_CHANGELOG_URL/);
  });
});
