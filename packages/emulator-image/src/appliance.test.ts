import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entriesFromDirectory } from '@stack/iso9660';
import { loadAppliance } from './appliance.js';
import { isBuildError } from './errors.js';
import { applianceDigest } from './appliance-cache.js';
import { mergeEntries } from './build-disks.js';

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
  it('throws BuildError IMAGE_INVALID_APPLIANCE (guarded by isBuildError)', async () => {
    const err = await loadAppliance(join(tmpdir(), 'no-such-appliance-dir')).catch((e: unknown) => e);
    expect(isBuildError(err) && err.code).toBe('IMAGE_INVALID_APPLIANCE');
    expect(isBuildError(new Error('x'))).toBe(false);
  });
  it('refuses user-data that cloud-init would ignore', async () => {
    const d = appliance({ 'user-data': 'runcmd: []\n', 'meta-data': 'instance-id: x\n' });
    await expect(loadAppliance(d)).rejects.toThrow(/must start with "#cloud-config"/);
  });
});

describe('an appliance that extends another', () => {
  const layered = () => {
    const base = appliance(
      {
        'user-data': '#cloud-config\n',
        'meta-data': 'instance-id: base\n',
        'packages.txt': 'postgresql\n# comment\nacpid\n',
      },
      true,
    );
    writeFileSync(join(base, 'bundle', 'hook'), 'base hook');
    writeFileSync(join(base, 'bundle', 'app'), 'base app');
    const top = appliance(
      {
        'user-data': '#cloud-config\nruncmd: [top]\n',
        'meta-data': 'instance-id: top\n',
        'packages.txt': 'acpid\njq\n',
        extends: `${base}\n`,
      },
      true,
    );
    writeFileSync(join(top, 'bundle', 'hook'), 'top hook');
    return { base, top };
  };

  it('takes its own seed, both bundles (its files on top) and both package lists', async () => {
    const { base, top } = layered();
    const a = await loadAppliance(top);
    expect(a.userData).toContain('[top]');
    expect(a.bundleDirs).toEqual([join(base, 'bundle'), join(top, 'bundle')]);
    expect(a.packages).toEqual(['postgresql', 'acpid', 'jq']);
    expect(a.layers).toEqual([base, top]);
    const merged = mergeEntries(await Promise.all(a.bundleDirs.map((d) => entriesFromDirectory(d))));
    const files = Object.fromEntries(
      merged
        .filter((e) => e.type === 'file')
        .map((e) => [e.path, readFileSync((e.data as { path: string }).path, 'utf8')]),
    );
    expect(files).toEqual({ app: 'base app', hook: 'top hook' });
  });

  it("its digest changes with the other appliance's files", () => {
    const { base, top } = layered();
    const before = applianceDigest(top);
    writeFileSync(join(base, 'bundle', 'app'), 'base app, edited');
    expect(applianceDigest(top)).not.toBe(before);
  });

  it('a layer that is only extended needs no seed files; built on its own it still does', async () => {
    const layer = appliance({ 'packages.txt': 'acpid\n' }, true);
    writeFileSync(join(layer, 'bundle', 'hook'), 'layer hook');
    const mid = appliance(
      {
        'user-data': '#cloud-config\n',
        'meta-data': 'instance-id: mid\n',
        'packages.txt': 'postgresql\n',
        extends: layer,
      },
      true,
    );
    const top = appliance(
      { 'user-data': '#cloud-config\nruncmd: [top]\n', 'meta-data': 'instance-id: top\n', extends: mid },
      true,
    );
    const a = await loadAppliance(top);
    expect(a.layers).toEqual([layer, mid, top]);
    expect(a.packages).toEqual(['acpid', 'postgresql']);
    expect(a.userData).toContain('[top]');
    await expect(loadAppliance(layer)).rejects.toThrow(`appliance ${layer} has no user-data`);
  });

  it('refuses a loop', async () => {
    const a = appliance({ 'user-data': '#cloud-config\n', 'meta-data': 'instance-id: a\n' });
    const b = appliance({ 'user-data': '#cloud-config\n', 'meta-data': 'instance-id: b\n', extends: a });
    writeFileSync(join(a, 'extends'), b);
    await expect(loadAppliance(a)).rejects.toThrow(/extends it back/);
    expect(() => applianceDigest(a)).not.toThrow();
  });

  it('refuses a path that is a file in one layer and a directory in another', () => {
    expect(() => mergeEntries([[{ type: 'file', path: 'x', data: 'a' }], [{ type: 'directory', path: 'x' }]])).toThrow(
      /bundle path x is a file in one layer and a directory in another/,
    );
  });
});
