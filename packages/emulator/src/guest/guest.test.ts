import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QgaTimeoutError } from '@stack/qga-protocol';
import { QmpTimeoutError } from '@stack/qmp-protocol';
import { SnapshotCorruptError } from '@stack/snapshot-cache';
import { describe, expect, it } from 'vitest';
import { EmulatorError } from '../errors.js';
import { isHwclockOnlyFailure } from './guest.js';
import { isTimeout } from '../boot/resume.js';
import { consoleTail } from '../vm/vm-process.js';

describe('guest-set-time quirk', () => {
  // Regression: qemu-ga sets the system clock, then fails on a guest without hwclock (seen on Debian 13
  // minbase); that error must not fail a resume.
  it('recognises the hwclock-only failure', () => {
    expect(
      isHwclockOnlyFailure(
        "guest-set-time: child process has failed to set hardware clock to system time: failed to exec '/sbin/hwclock': No such file or directory",
      ),
    ).toBe(true);
    expect(isHwclockOnlyFailure('guest-set-time: Invalid parameter type')).toBe(false);
  });
});

describe('consoleTail', () => {
  it('keeps the last meaningful console lines without terminal escapes', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'console-')), 'serial.log');
    writeFileSync(
      f,
      '\x1b[2J\x1b[01;01HBdsDxe: starting Boot0001\r\n\n[   42.5] cloud-init[537]: running\r\n\x1b[!p\x1b[?7hstack-emulator login: \n',
    );
    expect(consoleTail(f, 2)).toBe('[   42.5] cloud-init[537]: running\nstack-emulator login:');
  });
});

describe('isTimeout', () => {
  it('tells a timeout (maybe a loaded host) from a broken snapshot', () => {
    expect(isTimeout(new EmulatorError('NOT_HEALTHY', 'x'))).toBe(true);
    expect(isTimeout(new EmulatorError('GUEST_FAILED', 'x', { cause: new QgaTimeoutError('guest-exec', 5000) }))).toBe(
      true,
    );
    expect(isTimeout(new SnapshotCorruptError('/s/state.raw', 'bad digest'))).toBe(false);
    expect(isTimeout(new EmulatorError('GUEST_FAILED', 'mount-host-fs exited with 1'))).toBe(false);
    expect(isTimeout(new QmpTimeoutError('query-migrate', 1000))).toBe(true);
    // By code, not by name: an error class that merely ends in "TimeoutError" is not one of ours.
    class OtherTimeoutError extends Error {}
    const other = new OtherTimeoutError('x');
    Object.defineProperty(other, 'name', { value: 'OtherTimeoutError' });
    expect(isTimeout(other)).toBe(false);
  });
});
