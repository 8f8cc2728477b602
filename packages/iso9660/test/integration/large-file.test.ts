import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPythonModule, hasTools } from '../../../../tools/testing/requires.js';
import { runInGuest } from '../../../../tools/testing/test-guest.js';
import { IsoReader } from '../../src/index.js';

// A file over 4 GiB needs several extents (ECMA-119 9.1.6 multi-extent, interchange level 3).
const ok = hasTools('isoinfo', '7z', 'qemu-system-x86_64') && hasPythonModule('pycdlib');
const SIZE = 4.5 * 1024 ** 3;
const MARKS = [0, 0xfffff800 - 1, 0xfffff800, 2 ** 32 - 1, 2 ** 32, SIZE - 1];
const markByte = (i: number) => 0x41 + i;
const work = mkdtempSync(join(tmpdir(), 'iso-large-'));
const image = join(work, 'big.iso');
let rssBytes = 0;

const PYCDLIB_READ = `
import json, sys, pycdlib
marks = [int(x) for x in sys.argv[2].split(',')]
class Probe:
    def __init__(self): self.pos = 0; self.found = {}
    def write(self, b):
        for m in marks:
            if self.pos <= m < self.pos + len(b): self.found[m] = b[m - self.pos]
        self.pos += len(b)
iso = pycdlib.PyCdlib()
iso.open(sys.argv[1])
p = Probe()
# Looked up by ISO 9660 path: pycdlib's Rock Ridge lookup may land on the last extent's record.
iso.get_file_from_iso_fp(p, blocksize=4 << 20, iso_path='/DISK.IMG;1')
print(json.dumps({'size': p.pos, 'marks': [p.found.get(m) for m in marks]}))
`;

beforeAll(() => {
  if (!ok) return;
  const src = join(work, 'src');
  mkdirSync(src);
  const fd = openSync(join(src, 'disk.img'), 'w');
  ftruncateSync(fd, SIZE); // sparse: no 4.5 GiB of real writes for the source
  MARKS.forEach((pos, i) => writeSync(fd, Buffer.from([markByte(i)]), 0, 1, pos));
  closeSync(fd);
  // Write the image in a child process so its peak RSS can be read back.
  const dist = new URL('../../dist/index.js', import.meta.url).href;
  const script = `import { writeIso, entriesFromDirectory } from ${JSON.stringify(dist)};
await writeIso(await entriesFromDirectory(${JSON.stringify(src)}), ${JSON.stringify(image)}, { volumeId: 'BUNDLE', rockRidge: true });
process.stdout.write(String(process.resourceUsage().maxRSS));`; // not console.log: FORCE_COLOR would colour the number
  rssBytes =
    Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim()) * 1024;
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!ok)('a 4.5 GiB file (multi-extent)', () => {
  it('is written with memory independent of its size', () => {
    expect(rssBytes).toBeGreaterThan(0);
    expect(rssBytes).toBeLessThan(100 * 1024 * 1024);
  });

  it('isoinfo shows two extents for it', () => {
    const listing = execFileSync('isoinfo', ['-l', '-i', image], { encoding: 'utf8' });
    expect(listing.match(/DISK\.IMG;1/g)).toHaveLength(2);
  });

  it('pycdlib reads every extent (following its multi-extent records) and 7z sees the full size', () => {
    // pycdlib's get_record() shows only the last extent; get_file_from_iso_fp follows them all.
    const py = spawnSync('/usr/bin/python3', ['-c', PYCDLIB_READ, image, MARKS.join(',')], { encoding: 'utf8' });
    expect(py.stderr).toBe('');
    expect(JSON.parse(py.stdout)).toEqual({ size: SIZE, marks: MARKS.map((_, i) => markByte(i)) });
    expect(execFileSync('7z', ['l', '-slt', image], { encoding: 'utf8' })).toContain(`Size = ${SIZE}`);
  });

  it('our reader returns the bytes at every extent boundary', async () => {
    const reader = await IsoReader.open(image);
    const [entry] = (await reader.list()).filter((e) => e.path === '/disk.img');
    expect(entry!.size).toBe(SIZE);
    expect(entry!.extents).toHaveLength(2);
    const found = new Map<number, number>();
    let pos = 0;
    for await (const chunk of reader.read(entry!)) {
      for (const m of MARKS) if (m >= pos && m < pos + chunk.length) found.set(m, chunk[m - pos]!);
      pos += chunk.length;
    }
    await reader.close();
    expect(pos).toBe(SIZE);
    expect([...found.entries()]).toEqual(MARKS.map((m, i) => [m, markByte(i)]));
  });

  it('the Linux kernel reads its size and the bytes at every extent boundary', async () => {
    const reads = MARKS.map((m) => `dd if=/mnt/disk.img bs=1 count=1 skip=${m} 2>/dev/null | od -An -tu1`).join('\n');
    const run = await runInGuest({
      disks: [image],
      modules: ['isofs'],
      script: `mount -t iso9660 -o ro /dev/vda /mnt || exit 1\nstat -c %s /mnt/disk.img\n${reads}`,
    });
    expect(run.exitCode).toBe(0);
    const [size, ...bytes] = run.output
      .trim()
      .split('\n')
      .map((l) => Number(l.trim()));
    expect(size).toBe(SIZE);
    expect(bytes).toEqual(MARKS.map((_, i) => markByte(i)));
  });
});
