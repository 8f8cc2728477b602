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
