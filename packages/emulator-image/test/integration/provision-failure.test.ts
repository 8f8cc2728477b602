import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../../tools/testing/requires.js';
import { BuildError, buildAppliance } from '../../src/index.js';

const ok = hasTools('debootstrap', 'qemu-system-x86_64', 'qemu-img', 'mkfs.vfat', 'mcopy', 'sfdisk');
const work = mkdtempSync(join(tmpdir(), 'failbuild-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!ok)('a provisioning failure', () => {
  it('ends the build soon after the guest reports it, with the guest error and the log kept', async () => {
    const output = join(work, 'failing.qcow2');
    let failedAt = 0;
    let sawFailure = 0;
    const err = await buildAppliance({
      applianceDir: new URL('../fixtures/failing-appliance', import.meta.url).pathname,
      output,
      arch: 'amd64',
      onConsole: (line) => {
        if (line.includes('STACK_CLOUD_INIT_FAILED') && !sawFailure) sawFailure = Date.now();
      },
    }).catch((e) => {
      failedAt = Date.now();
      return e;
    });
    expect(err).toBeInstanceOf(BuildError);
    expect(err.code).toBe('IMAGE_PROVISION_FAILED');
    expect(err.message).toContain('migrations exploded (exit 42)');
    // Stopped by the marker, not by the time limit (the code would be IMAGE_PROVISION_TIMEOUT).
    expect(sawFailure).toBeGreaterThan(0);
    console.log(`build gave up ${failedAt - sawFailure} ms after the failure reached the console`);
    expect(readFileSync(`${output}.log`, 'utf8')).toContain('STACK_CLOUD_INIT_FAILED');
  });
});
