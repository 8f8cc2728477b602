import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOOT_MARKERS, bootStage } from '@stack/qemu-argv';
import { describe, expect, it } from 'vitest';
import { BASE_PACKAGES } from './debian-rootfs.js';
import { applyRootfsConfig, earlyRootfsFiles, rootfsConfig } from './rootfs-config.js';

const config = rootfsConfig();
const file = (path: string) => [...config.files, ...earlyRootfsFiles()].find((f) => f.path === path)!.text;

describe('the root file system check', () => {
  it('e2fsprogs is installed (not in minbase), and fstab leaves the check to the initramfs (pass 0)', () => {
    expect(BASE_PACKAGES).toContain('e2fsprogs');
    expect(file('etc/fstab')).toMatch(/^PARTUUID=\S+ \/ ext4 defaults,noatime,errors=remount-ro 0 0\n$/);
  });

  it("masks e2fsprogs' LVM cleanup, which would run at every boot", () => {
    expect(config.masks).toContain('etc/systemd/system/e2scrub_reap.service');
  });
});

describe('boot markers', () => {
  it('systemd prints the userspace marker on the console from its first batch of jobs, ordered after nothing', () => {
    const unit = file('etc/systemd/system/stack-boot-stage.service');
    expect(unit).toContain('DefaultDependencies=no\n');
    expect(unit).not.toMatch(/^(After|Before|Requires|Wants)=/m);
    expect(config.enable).toContainEqual({ unit: 'stack-boot-stage.service', target: 'sysinit.target' });
    // Run its command as systemd would (sh -c '...'), with a file for the console.
    const command = /^ExecStart=\/bin\/sh -c '(.*)'$/m.exec(unit)![1]!;
    const t = mkdtempSync(join(tmpdir(), 'marker-'));
    spawnSync('sh', ['-c', command.replace('/dev/console', join(t, 'console'))]);
    expect(bootStage(readFileSync(join(t, 'console'), 'utf8'))).toBe('userspace');
  });

  it('the agent marker comes when the agent is started on its port, before qemu-ga takes over', () => {
    const t = mkdtempSync(join(tmpdir(), 'agent-'));
    for (const [port, name] of [
      ['vport1p1', 'org.example.other'],
      ['vport1p2', 'org.qemu.guest_agent.0'],
    ]) {
      mkdirSync(join(t, 'ports', port), { recursive: true });
      writeFileSync(join(t, 'ports', port, 'name'), `${name}\n`);
    }
    writeFileSync(join(t, 'qemu-ga'), `#!/bin/sh\necho "qemu-ga $*" >> ${t}/console\n`);
    chmodSync(join(t, 'qemu-ga'), 0o755);
    const script = file('usr/local/sbin/stack-qemu-ga')
      .replace('/sys/class/virtio-ports', join(t, 'ports'))
      .replace('/dev/console', join(t, 'console'))
      .replace('/usr/sbin/qemu-ga', join(t, 'qemu-ga'));
    expect(spawnSync('sh', ['-c', script], { timeout: 10_000 }).status).toBe(0);
    expect(readFileSync(join(t, 'console'), 'utf8')).toBe(
      `${BOOT_MARKERS.agent}\nqemu-ga --method=virtio-serial --path=/dev/vport1p2\n`,
    );
  });
});

describe('applyRootfsConfig', () => {
  it('writes the files with their modes, enables units and masks with /dev/null links', () => {
    const root = mkdtempSync(join(tmpdir(), 'rootfs-'));
    applyRootfsConfig(root, config);
    expect(readFileSync(join(root, 'etc/resolv.conf'), 'utf8')).toBe('nameserver 10.0.2.3\n');
    expect(spawnSync('test', ['-x', join(root, 'usr/local/sbin/stack-qemu-ga')]).status).toBe(0);
    expect(readlinkSync(join(root, 'etc/systemd/system/sysinit.target.wants/stack-boot-stage.service'))).toBe(
      '/etc/systemd/system/stack-boot-stage.service',
    );
    expect(readlinkSync(join(root, 'etc/systemd/system/getty@.service'))).toBe('/dev/null');
    expect(readlinkSync(join(root, 'etc/systemd/system-generators/systemd-gpt-auto-generator'))).toBe('/dev/null');
  });
});
