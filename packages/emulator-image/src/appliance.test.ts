import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAppliance } from './appliance.js';

function appliance(files: Record<string, string>, bundle = false): string {
  const d = mkdtempSync(join(tmpdir(), 'appliance-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  if (bundle) mkdirSync(join(d, 'bundle'));
  return d;
}

describe('loadAppliance', () => {
  it('loads user-data, meta-data and the bundle directory', async () => {
    const d = appliance({ 'user-data': '#cloud-config\nruncmd: []\n', 'meta-data': 'instance-id: x\n' }, true);
    const a = await loadAppliance(d);
    expect(a.userData).toContain('runcmd');
    expect(a.bundleDir).toBe(join(d, 'bundle'));
  });
  it('names a missing file', async () => {
    const d = appliance({ 'user-data': '#cloud-config\n' });
    await expect(loadAppliance(d)).rejects.toThrow(`appliance ${d} has no meta-data`);
  });
  it('refuses user-data that cloud-init would ignore', async () => {
    const d = appliance({ 'user-data': 'runcmd: []\n', 'meta-data': 'instance-id: x\n' });
    await expect(loadAppliance(d)).rejects.toThrow(/must start with "#cloud-config"/);
  });
});
