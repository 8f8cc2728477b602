import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STACK_BASE_ENV } from '../../packages/emulator-image/src/stack-base-env.js';

/**
 * A directory shaped like a Stack Auth checkout as far as the image tools read one: the backend's and
 * the dashboard's `.env.development`, every variable of the base environment list set to `v-<NAME>`.
 */
export function sampleStackCheckout(parent = tmpdir()): string {
  const checkout = mkdtempSync(join(parent, 'stack-checkout-'));
  for (const app of ['backend', 'dashboard'] as const) {
    mkdirSync(join(checkout, 'apps', app), { recursive: true });
    const lines = STACK_BASE_ENV.filter((e) => 'from' in e && e.from === app).map((e) => `${e.key}=v-${e.key}`);
    writeFileSync(join(checkout, 'apps', app, '.env.development'), `# sample\n${lines.join('\n')}\n`);
  }
  return checkout;
}
