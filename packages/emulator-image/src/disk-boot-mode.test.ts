import { describe, expect, it } from 'vitest';
import { bootModeFromMbr } from './disk-boot-mode.js';

const mbr = (code: boolean, signature = true) => {
  const s = Buffer.alloc(512);
  if (code) s.write('\xeb\x63\x90GRUB', 0, 'latin1');
  if (signature) s.writeUInt16LE(0xaa55, 510);
  return s;
};

describe('bootModeFromMbr', () => {
  it('boot code and the signature: BIOS; a protective MBR (zeros) or no signature: UEFI', () => {
    expect(bootModeFromMbr(mbr(true))).toBe('bios');
    expect(bootModeFromMbr(mbr(false))).toBe('uefi');
    expect(bootModeFromMbr(mbr(true, false))).toBe('uefi');
    expect(bootModeFromMbr(Buffer.alloc(100))).toBe('uefi');
  });
});
