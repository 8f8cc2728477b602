import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/resolve-config.js';
import { detectHost } from '../config/host-info.js';
import { describeOriginalSnapshots, earlierDisk, originalInstance } from './legacy-home.js';

const work = mkdtempSync(join(tmpdir(), 'legacy-home-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function home(name: string) {
  const h = join(work, name);
  mkdirSync(join(h, 'run', 'vm'), { recursive: true });
  mkdirSync(join(h, 'images'), { recursive: true });
  return resolveConfig({}, { STACK_EMULATOR_HOME: h, HOME: work }, detectHost({ platform: 'linux', arch: 'x64' }));
}

/** A minimal qcow2 header naming `backing` (qcow2 spec: magic, version, backing offset and size). */
function qcow2With(path: string, backing: string): void {
  const head = Buffer.alloc(512);
  head.writeUInt32BE(0x514649fb, 0);
  head.writeUInt32BE(3, 4);
  head.writeBigUInt64BE(256n, 8);
  head.writeUInt32BE(Buffer.byteLength(backing), 16);
  head.write(backing, 256);
  writeFileSync(path, head);
}

const linuxProc = (files: Record<string, string>) => ({
  platform: 'linux' as const,
  readProc: (p: string) => files[p],
});

describe("the original stack-emulator's QEMU", () => {
  it('is found only when the pid in run/vm/qemu.pid is a live QEMU naming this home', () => {
    const c = home('a');
    writeFileSync(join(c.paths.vm, 'qemu.pid'), '4242\n');
    const stat = '4242 (qemu-system-x86) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 999';
    const cmd = (args: string[]) => args.join('\0');
    const qemu = cmd([
      'qemu-system-x86_64',
      '-drive',
      `file=${c.paths.vm}/disk.qcow2,if=virtio`,
      '-pidfile',
      `${c.paths.vm}/qemu.pid`,
    ]);
    expect(originalInstance(c, linuxProc({ '/proc/4242/stat': stat, '/proc/4242/cmdline': qemu }))).toMatchObject({
      pid: 4242,
      monitor: join(c.paths.vm, 'monitor.sock'),
    });
    // A reused pid: another program, or a QEMU of another home.
    expect(
      originalInstance(c, linuxProc({ '/proc/4242/stat': stat, '/proc/4242/cmdline': cmd(['vim', 'notes']) })),
    ).toBeUndefined();
    expect(
      originalInstance(
        c,
        linuxProc({
          '/proc/4242/stat': stat,
          '/proc/4242/cmdline': cmd(['qemu-system-x86_64', '-pidfile', '/elsewhere/run/vm/qemu.pid']),
        }),
      ),
    ).toBeUndefined();
    // Gone, or a zombie.
    expect(originalInstance(c, linuxProc({}))).toBeUndefined();
    expect(
      originalInstance(c, linuxProc({ '/proc/4242/stat': stat.replace(' S ', ' Z '), '/proc/4242/cmdline': qemu })),
    ).toBeUndefined();
  });

  it('is not looked for without a pid file', () => {
    expect(originalInstance(home('b'), linuxProc({}))).toBeUndefined();
  });
});

describe('a disk an earlier tool left', () => {
  it("the original's overlay counts when its fingerprint names the image's size and mtime and it is backed by the image", async () => {
    const c = home('c');
    const image = join(c.paths.images, 'stack-emulator-amd64.qcow2');
    writeFileSync(image, Buffer.alloc(4096));
    utimesSync(image, 1_700_000_000, 1_700_000_000);
    qcow2With(c.paths.overlay, image);
    const fp = join(c.paths.vm, 'base-image.fingerprint');
    writeFileSync(fp, '4096:1700000000|no-savevm');
    expect(await earlierDisk(c, { path: image, digest: 'x' })).toEqual({
      disk: c.paths.overlay,
      from: 'the original stack-emulator',
    });
    writeFileSync(fp, '4096:1700000000|12345:1700000001'); // made in its snapshot mode: its data too
    expect(await earlierDisk(c, { path: image, digest: 'x' })).toBeDefined();
    writeFileSync(fp, '4096:1700000099|no-savevm'); // another image
    expect(await earlierDisk(c, { path: image, digest: 'x' })).toBeUndefined();
    writeFileSync(fp, '4096:1700000000|no-savevm');
    qcow2With(c.paths.overlay, '/other/image.qcow2');
    expect(await earlierDisk(c, { path: image, digest: 'x' })).toBeUndefined();
  });

  it("ours from before sessions counts when disk.json names the image's digest in cold mode", async () => {
    const c = home('d');
    const image = join(c.paths.images, 'x.qcow2');
    writeFileSync(image, '');
    qcow2With(c.paths.overlay, image);
    writeFileSync(c.paths.overlayMeta, JSON.stringify({ mode: 'cold', imageDigest: 'abc' }));
    expect(await earlierDisk(c, { path: image, digest: 'abc' })).toMatchObject({
      from: 'an earlier stack-emulator version',
    });
    expect(await earlierDisk(c, { path: image, digest: 'def' })).toBeUndefined();
    writeFileSync(c.paths.overlayMeta, JSON.stringify({ mode: 'snapshot', imageDigest: 'abc' }));
    expect(await earlierDisk(c, { path: image, digest: 'abc' })).toBeUndefined();
  });

  // Regression: disk.json was cast; a torn or wrong-shaped one left the disk unused without a word.
  it('is not adopted when disk.json is torn, wrong-shaped or unreadable, and the warning names the file and keeps the disk', async () => {
    const c = home('g');
    const image = join(c.paths.images, 'x.qcow2');
    writeFileSync(image, '');
    qcow2With(c.paths.overlay, image);
    for (const text of ['{"mode": "cold", "imageDi', 'null', JSON.stringify({ mode: 'cold', imageDigest: 7 })]) {
      writeFileSync(c.paths.overlayMeta, text);
      const said: string[] = [];
      expect(await earlierDisk(c, { path: image, digest: 'abc' }, { warn: (t) => said.push(t) })).toBeUndefined();
      expect(said).toHaveLength(1);
      expect(said[0]).toContain(`${c.paths.overlayMeta} is not valid`);
      expect(said[0]).toContain(`${c.paths.overlay}`);
      expect(said[0]).toContain('kept there untouched');
      expect(said[0]).not.toContain('\n');
    }
    rmSync(c.paths.overlayMeta);
    mkdirSync(c.paths.overlayMeta); // EISDIR: cannot be read, even by root
    const said: string[] = [];
    expect(await earlierDisk(c, { path: image, digest: 'abc' }, { warn: (t) => said.push(t) })).toBeUndefined();
    expect(said[0]).toMatch(/cannot be read: .*EISDIR/);
  });

  it("a disk without disk.json nor fingerprint is nobody's: no adoption, no warning", async () => {
    const c = home('h');
    const image = join(c.paths.images, 'x.qcow2');
    writeFileSync(image, '');
    qcow2With(c.paths.overlay, image);
    const said: string[] = [];
    expect(await earlierDisk(c, { path: image, digest: 'abc' }, { warn: (t) => said.push(t) })).toBeUndefined();
    expect(said).toEqual([]);
  });

  it("an invalid disk.json does not stand in the way of the original's fingerprint", async () => {
    const c = home('i');
    const image = join(c.paths.images, 'x.qcow2');
    writeFileSync(image, '');
    utimesSync(image, 1700000000, 1700000000);
    qcow2With(c.paths.overlay, image);
    writeFileSync(join(c.paths.vm, 'base-image.fingerprint'), '0:1700000000|no-savevm');
    writeFileSync(c.paths.overlayMeta, '{');
    const said: string[] = [];
    expect(await earlierDisk(c, { path: image, digest: 'abc' }, { warn: (t) => said.push(t) })).toMatchObject({
      from: 'the original stack-emulator',
    });
    expect(said).toEqual([]);
  });
});

describe("the original's snapshot files", () => {
  it('are reported with an rm command that quotes their paths', () => {
    const c = home("e f'g");
    expect(describeOriginalSnapshots(c)).toBeUndefined();
    writeFileSync(join(c.paths.images, 'stack-emulator-arm64.savevm.zst'), Buffer.alloc(8192, 1));
    writeFileSync(join(c.paths.images, 'stack-emulator-arm64.savevm.raw.tmp'), Buffer.alloc(8192, 1));
    writeFileSync(join(c.paths.images, 'stack-emulator-arm64.qcow2'), '');
    const text = describeOriginalSnapshots(c)!;
    const quoted = (f: string) => `'${join(c.paths.images, f).replace(/'/g, "'\\''")}'`;
    expect(text).toContain(
      `rm ${quoted('stack-emulator-arm64.savevm.raw.tmp')} ${quoted('stack-emulator-arm64.savevm.zst')}`,
    );
    expect(text).not.toContain('.qcow2');
  });
});
