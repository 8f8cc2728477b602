import { describe, expect, it } from 'vitest';
import { isQemuArgvError } from './errors.js';
import { compareQemuVersions, parseQemuVersion, supportsMappedRam } from './qemu-version.js';

describe('parseQemuVersion', () => {
  it('reads distribution and upstream version lines', () => {
    expect(
      parseQemuVersion('QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\nCopyright ...'),
    ).toEqual({ major: 10, minor: 0, micro: 2 });
    expect(parseQemuVersion('QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)')).toEqual({
      major: 7,
      minor: 2,
      micro: 22,
    });
    expect(parseQemuVersion('QEMU emulator version 9.1')).toEqual({ major: 9, minor: 1, micro: 0 });
  });
  it('names the text it cannot read', () => {
    expect(() => parseQemuVersion('bash: qemu: not found')).toThrow(/bash: qemu: not found/);
    expect(
      (() => {
        try {
          parseQemuVersion('x');
        } catch (e) {
          return isQemuArgvError(e) && e.code;
        }
      })(),
    ).toBe('ARGV_BAD_VERSION');
  });
  it('knows mapped-ram starts at 9.0', () => {
    expect(supportsMappedRam({ major: 8, minor: 2, micro: 9 })).toBe(false);
    expect(supportsMappedRam({ major: 9, minor: 0, micro: 0 })).toBe(true);
    expect(compareQemuVersions({ major: 10, minor: 0, micro: 2 }, { major: 9, minor: 2, micro: 0 })).toBeGreaterThan(0);
  });
});
