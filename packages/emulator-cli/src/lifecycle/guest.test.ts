import { describe, expect, it } from 'vitest';
import { isHwclockOnlyFailure } from './guest.js';

describe('guest-set-time quirk', () => {
  // Regression: qemu-ga sets the system clock, then fails on a guest without hwclock (seen on Debian 13
  // minbase); that error must not fail a resume.
  it('recognises the hwclock-only failure', () => {
    expect(isHwclockOnlyFailure("guest-set-time: child process has failed to set hardware clock to system time: failed to exec '/sbin/hwclock': No such file or directory")).toBe(true);
    expect(isHwclockOnlyFailure('guest-set-time: Invalid parameter type')).toBe(false);
  });
});

describe('consoleTail', () => {
  it('keeps the last meaningful console lines without terminal escapes', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { consoleTail } = await import('./vm-process.js');
    const f = join(mkdtempSync(join(tmpdir(), 'console-')), 'serial.log');
    writeFileSync(f, '\x1b[2J\x1b[01;01HBdsDxe: starting Boot0001\r\n\n[   42.5] cloud-init[537]: running\r\n\x1b[!p\x1b[?7hstack-emulator login: \n');
    expect(consoleTail(f, 2)).toBe('[   42.5] cloud-init[537]: running\nstack-emulator login:');
  });
});

describe('isTimeout', () => {
  it('tells a timeout (maybe a loaded host) from a broken snapshot', async () => {
    const { isTimeout } = await import('./resume.js');
    const { EmulatorError } = await import('../errors.js');
    const { QgaTimeoutError } = await import('@stack/qga-protocol');
    const { SnapshotCorruptError } = await import('@stack/snapshot-cache');
    expect(isTimeout(new EmulatorError('NOT_HEALTHY', 'x'))).toBe(true);
    expect(isTimeout(new EmulatorError('GUEST_FAILED', 'x', { cause: new QgaTimeoutError('guest-exec', 5000) }))).toBe(true);
    expect(isTimeout(new SnapshotCorruptError('/s/state.raw', 'bad digest'))).toBe(false);
    expect(isTimeout(new EmulatorError('GUEST_FAILED', 'mount-host-fs exited with 1'))).toBe(false);
  });
});
