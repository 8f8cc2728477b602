import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applianceDigest } from './appliance-cache.js';

function appliance(): string {
  const d = mkdtempSync(join(tmpdir(), 'appliance-digest-'));
  writeFileSync(join(d, 'user-data'), '#cloud-config\n');
  writeFileSync(join(d, 'README.md'), '# docs\n');
  mkdirSync(join(d, 'bundle'));
  writeFileSync(join(d, 'bundle', 'README.md'), 'carried on the bundle disk\n');
  writeFileSync(join(d, 'bundle', 'hook'), '#!/bin/sh\n');
  return d;
}

describe('applianceDigest', () => {
  it('ignores the top-level README, which the build never reads', () => {
    const d = appliance();
    const before = applianceDigest(d);
    writeFileSync(join(d, 'README.md'), '# docs, edited\n');
    expect(applianceDigest(d)).toBe(before);
  });

  it('changes with any file the build reads: bytes, modes, and a README inside the bundle', () => {
    const d = appliance();
    const seen = new Set([applianceDigest(d)]);
    writeFileSync(join(d, 'user-data'), '#cloud-config\nruncmd: []\n');
    seen.add(applianceDigest(d));
    chmodSync(join(d, 'bundle', 'hook'), 0o755);
    seen.add(applianceDigest(d));
    writeFileSync(join(d, 'bundle', 'README.md'), 'changed\n');
    seen.add(applianceDigest(d));
    expect(seen.size).toBe(4);
  });
});
