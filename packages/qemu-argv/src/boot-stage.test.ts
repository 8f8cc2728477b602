import { describe, expect, it } from 'vitest';
import { BOOT_MARKERS, bootProgress, bootStage } from './boot-stage.js';

describe('bootStage', () => {
  it('is undefined for a silent console and for an image that prints no markers', () => {
    expect(bootStage('')).toBeUndefined();
    expect(
      bootStage('BdsDxe: loading Boot0001 "UEFI Misc Device"\r\n[    0.000000] Linux version 6.12\n'),
    ).toBeUndefined();
  });

  it('gives the last stage seen, as the guest prints them', () => {
    const log = `${BOOT_MARKERS.initramfs}\r\n${BOOT_MARKERS.userspace}\r\n`;
    expect(bootStage(log)).toBe('userspace');
    expect(bootStage(`${log}${BOOT_MARKERS.agent}\r\n`)).toBe('agent');
    expect(BOOT_MARKERS).toEqual({
      initramfs: 'STACK_BOOT_STAGE initramfs',
      userspace: 'STACK_BOOT_STAGE userspace',
      agent: 'STACK_BOOT_STAGE agent',
    });
  });

  it('finds a marker after other output on its line, through terminal escapes, and in a tail without the first lines', () => {
    expect(bootStage('[   12.5] random: crng init done\x1b[0mSTACK_BOOT_STAGE userspace\n')).toBe('userspace');
    expect(bootStage('ge qemu-ga\nSTACK_BOOT_STAGE agent')).toBe('agent');
  });

  it('ignores unknown stages and words that only start like one', () => {
    expect(bootStage('STACK_BOOT_STAGE initramfs\nSTACK_BOOT_STAGE agents\nSTACK_BOOT_STAGE later\n')).toBe(
      'initramfs',
    );
  });

  it('a reboot starts again from the initramfs', () => {
    expect(bootStage('STACK_BOOT_STAGE agent\nreboot: Restarting system\nSTACK_BOOT_STAGE initramfs\n')).toBe(
      'initramfs',
    );
  });
});

describe('bootProgress', () => {
  it('reports an initramfs failure with its reason, once the line is complete', () => {
    const failed =
      'STACK_BOOT_STAGE initramfs\r\nSTACK_BOOT_FAILED stack-initramfs: cannot mount /dev/vda2 (ext4) on /root: Invalid argument; powering off\r\n';
    expect(bootProgress(failed)).toEqual({
      stage: 'initramfs',
      failure: 'stack-initramfs: cannot mount /dev/vda2 (ext4) on /root: Invalid argument; powering off',
    });
    expect(bootProgress('STACK_BOOT_STAGE initramfs\nSTACK_BOOT_FAILED stack-initramfs: cannot mo')).toEqual({
      stage: 'initramfs',
    });
  });

  it('a later boot clears an earlier failure', () => {
    expect(
      bootProgress('STACK_BOOT_FAILED root not found\nSTACK_BOOT_STAGE initramfs\nSTACK_BOOT_STAGE userspace\n'),
    ).toEqual({
      stage: 'userspace',
    });
  });
});
