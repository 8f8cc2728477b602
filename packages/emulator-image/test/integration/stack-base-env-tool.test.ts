import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleStackCheckout } from '../../../../tools/testing/stack-checkout.js';
import { parseEnvFile, STACK_BASE_ENV_KEYS } from '../../src/index.js';

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
});
