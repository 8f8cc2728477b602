/** A file for a newc ("070701") cpio archive, the format the Linux kernel unpacks as initramfs. */
export interface CpioEntry {
  path: string;
  mode: number;
  data?: Buffer;
}

/** Writes a newc cpio archive (see the kernel's Documentation/driver-api/early-userspace/buffer-format.rst). */
export function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const add = (path: string, mode: number, data: Buffer) => {
    const name = Buffer.from(`${path}\0`);
    const fields = [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length, 0];
    const header = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`, 'ascii');
    parts.push(header, name, pad4(header.length + name.length), data, pad4(data.length));
  };
  for (const e of entries) add(e.path, e.mode, e.data ?? Buffer.alloc(0));
  add('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}
