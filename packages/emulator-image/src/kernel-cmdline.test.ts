import { describe, expect, it } from 'vitest';
import { kernelCommandLine } from './kernel-cmdline.js';
import { ROOT_PARTUUID } from './rootfs-config.js';

describe('kernelCommandLine', () => {
  it('amd64: the root by PARTUUID, read-only, checked and repaired at boot without asking, quiet on ttyS0', () => {
    expect(kernelCommandLine('amd64')).toBe(
      `root=PARTUUID=${ROOT_PARTUUID} ro fsck.mode=auto fsck.repair=yes console=ttyS0,115200 quiet loglevel=3 systemd.show_status=false net.ifnames=0 mitigations=off cryptomgr.notests no_timer_check`,
    );
  });

  it('arm64: the same on the PL011 console, without the x86 timer check switch', () => {
    expect(kernelCommandLine('arm64')).toBe(
      kernelCommandLine('amd64').replace('console=ttyS0', 'console=ttyAMA0').replace(' no_timer_check', ''),
    );
  });
});
