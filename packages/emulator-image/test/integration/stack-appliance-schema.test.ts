import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasTools } from '../../../../tools/testing/requires.js';
import { ensureBaseImage } from '../../src/index.js';

// The appliances' cloud-init files, checked by the cloud-init of the guest image itself, run in the
// base image's tree (the Stack appliance is also built and booted with a stand-in container by
// packages/emulator-cli/e2e/stack-appliance.test.ts).
const ok = hasTools('debootstrap', 'chroot', 'mkfs.vfat', 'mcopy', 'sfdisk', 'qemu-img');
const images = new URL('../../../../images', import.meta.url).pathname;

describe.skipIf(!ok)('cloud-init schema of the appliance definitions', () => {
  for (const name of ['stack', 'reference']) {
    it(`images/${name}/user-data is valid cloud-config`, async () => {
      const base = await ensureBaseImage({ arch: 'amd64' });
      const inside = `/tmp/user-data-${name}-${process.pid}`;
      copyFileSync(join(images, name, 'user-data'), join(base.rootfs, inside));
      try {
        const r = spawnSync('chroot', [base.rootfs, 'cloud-init', 'schema', '-c', inside], { encoding: 'utf8' });
        expect(`${r.stdout}${r.stderr}`).toContain('Valid schema');
        expect(r.status).toBe(0);
      } finally {
        rmSync(join(base.rootfs, inside), { force: true });
      }
    });
  }

  it('rejects an invalid cloud-config (the check can fail)', async () => {
    const base = await ensureBaseImage({ arch: 'amd64' });
    const inside = `/tmp/user-data-bad-${process.pid}`;
    execFileSync('sh', [
      '-c',
      `printf '#cloud-config\\nruncmd: 42\\npackage_update: maybe\\n' > ${join(base.rootfs, inside)}`,
    ]);
    try {
      const r = spawnSync('chroot', [base.rootfs, 'cloud-init', 'schema', '-c', inside], { encoding: 'utf8' });
      expect(r.status).not.toBe(0);
    } finally {
      rmSync(join(base.rootfs, inside), { force: true });
    }
  });
});
