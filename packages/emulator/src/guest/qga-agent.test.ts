import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isHwclockOnlyFailure } from './qga-agent.js';
import { consoleTail } from '../vm/logs-tail.js';

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
