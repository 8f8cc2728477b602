import { describe, expect, it } from 'vitest';
import { defaultEntryName, findEspInGpt, GPT_HEAD_BYTES, parseLoaderEntry } from './esp-layout.js';

describe('findEspInGpt', () => {
  it('finds nothing in a disk without a GPT (an MBR disk, a blank file, a short read)', () => {
    expect(findEspInGpt(Buffer.alloc(GPT_HEAD_BYTES))).toBeUndefined();
    expect(findEspInGpt(Buffer.alloc(100))).toBeUndefined();
  });

  it('skips partitions of other types and reads the ESP extent in sectors', () => {
    // A GPT header at LBA 1 whose entries (2 of 128 bytes) start at LBA 2: a Linux root, then the ESP.
    const head = Buffer.alloc(GPT_HEAD_BYTES);
    head.write('EFI PART', 512, 'latin1');
    head.writeBigUInt64LE(2n, 512 + 72);
    head.writeUInt32LE(2, 512 + 80);
    head.writeUInt32LE(128, 512 + 84);
    Buffer.from('af3dc60f838472478e793d69d8477de4', 'hex').copy(head, 1024); // 0FC63DAF-8483-4772-8E79-3D69D8477DE4
    head.writeBigUInt64LE(4096n, 1024 + 32);
    head.writeBigUInt64LE(8191n, 1024 + 40);
    Buffer.from('28732ac11ff8d211ba4b00a0c93ec93b', 'hex').copy(head, 1152);
    head.writeBigUInt64LE(2048n, 1152 + 32);
    head.writeBigUInt64LE(4095n, 1152 + 40);
    expect(findEspInGpt(head)).toEqual({ offset: 2048 * 512, size: 2048 * 512 });
    head.fill(0, 1152, 1168);
    expect(findEspInGpt(head)).toBeUndefined();
  });
});

describe('parseLoaderEntry', () => {
  it('reads linux, the first initrd and every options line, ignoring comments and other keys', () => {
    const entry = parseLoaderEntry(
      '# generated\ntitle Stack emulator\nlinux /vmlinuz\ninitrd /initrd.img\ninitrd /second.img\noptions root=PARTUUID=x ro\noptions  quiet \nversion 6.12\n',
    );
    expect(entry).toEqual({ linux: '/vmlinuz', initrd: '/initrd.img', options: 'root=PARTUUID=x ro quiet' });
  });

  it('gives nothing for an entry without a kernel (an EFI program entry, say)', () => {
    expect(parseLoaderEntry('title Shell\nefi /shell.efi\n')).toBeUndefined();
  });
});

describe('defaultEntryName', () => {
  it('names the default entry file, with or without .conf, and ignores glob patterns', () => {
    expect(defaultEntryName('timeout 0\ndefault stack.conf\n')).toBe('stack.conf');
    expect(defaultEntryName('default stack\n')).toBe('stack.conf');
    expect(defaultEntryName('default debian-*\n')).toBeUndefined();
    expect(defaultEntryName('timeout 3\n')).toBeUndefined();
  });
});
