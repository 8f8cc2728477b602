import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isHwclockOnlyFailure } from './guest-clock.js';
import { mountArgs } from './qga-agent.js';
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

describe("mountArgs (the guest mount script's arguments)", () => {
  it('tag, host path and ro/rw per share, parents first; the script mounts with that mode', () => {
    const args = mountArgs([
      { slot: 0, dir: '/home/me/app' },
      { slot: 1, dir: '/home/me', readonly: true },
      { slot: 2, dir: '/srv/data', readonly: false },
    ]);
    expect(args.slice(3)).toEqual([
      'stackshare1',
      '/home/me',
      'ro',
      'stackshare2',
      '/srv/data',
      'rw',
      'stackshare0',
      '/home/me/app',
      'rw',
    ]);
    expect(args[1]).toContain('tag=$1 dir=/host$2 mode=$3; shift 3');
    expect(args[1]).toContain('msize=262144,$mode');
  });

  it('refuses a relative path or one with ..', () => {
    expect(() => mountArgs([{ slot: 0, dir: '/a/../etc' }])).toThrow(/without "\.\."/);
    expect(() => mountArgs([{ slot: 0, dir: 'rel' }])).toThrow(expect.objectContaining({ code: 'HOST_SHARE_FAILED' }));
  });
});
