import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasPythonModule, hasTools } from '../../../../tools/testing/requires.js';
import { entriesFromDirectory, extractIso, IsoReader, writeIso } from '../../src/index.js';
import { makeTree, snapshot, type TreeSnapshot } from '../fixtures.js';

const ok = hasTools('isoinfo', 'osirrox', 'xorriso', '7z', 'blkid', 'genisoimage') && hasPythonModule('pycdlib');
const work = mkdtempSync(join(tmpdir(), 'iso-readers-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });

/** Walks every record of every namespace with pycdlib (strict parser) and prints paths as JSON. */
const PYCDLIB_WALK = `
import json, sys, pycdlib
iso = pycdlib.PyCdlib()
iso.open(sys.argv[1])
out = {}
for ns, key in (('iso', 'iso_path'), ('joliet', 'joliet_path'), ('rr', 'rr_path')):
    try:
        paths = []
        for d, dirs, files in iso.walk(**{key: '/'}):
            base = d.rstrip('/')
            paths += [base + '/' + x for x in dirs + files]
            for f in files:
                rec = iso.get_record(**{key: base + '/' + f})
                paths.append('size:' + base + '/' + f + '=' + str(rec.get_data_length()))
        out[ns] = sorted(paths)
    except pycdlib.pycdlibexception.PyCdlibInvalidInput:
        out[ns] = None
iso.close()
print(json.dumps(out))
`;

async function readBack(image: string): Promise<TreeSnapshot> {
  const reader = await IsoReader.open(image);
  const out: TreeSnapshot = {};
  for (const e of await reader.list()) {
    if (e.type === 'file') {
      const h = createHash('sha256');
      for await (const c of reader.read(e)) h.update(c);
      out[e.path] = { type: 'file', size: e.size, sha: h.digest('hex') };
    } else out[e.path] = e.type === 'symlink' ? { type: 'symlink', target: e.target } : { type: 'directory' };
  }
  await reader.close();
  return out;
}

/** Joliet keeps 64 UTF-16 units: with Rock Ridge, longer names are shortened in the Joliet tree only. */
const jolietName = (path: string) =>
  path
    .split('/')
    .map((p) => (p.length > 64 ? p.slice(0, 64) : p))
    .join('/');

const stripModes = (s: TreeSnapshot) =>
  Object.fromEntries(Object.entries(s).map(([k, v]) => [k, { ...v, mode: undefined }]));

const variants = [
  { name: 'Joliet', joliet: true, rockRidge: false },
  { name: 'Joliet + Rock Ridge', joliet: true, rockRidge: true },
  { name: 'Rock Ridge only', joliet: false, rockRidge: true },
];

describe.skipIf(!ok)('images checked by every independent reader', () => {
  for (const v of variants) {
    describe(v.name, () => {
      const src = join(work, `src-${v.joliet}-${v.rockRidge}`);
      const image = join(work, `img-${v.joliet}-${v.rockRidge}.iso`);
      let expected: TreeSnapshot;

      it('is written from a directory tree', async () => {
        makeTree(src, { symlinks: v.rockRidge, longNames: v.rockRidge });
        expected = snapshot(src, { modes: v.rockRidge });
        const r = await writeIso(await entriesFromDirectory(src), image, {
          volumeId: 'cidata',
          joliet: v.joliet,
          rockRidge: v.rockRidge,
        });
        expect(r.bytes % 2048).toBe(0);
      });

      it('isoinfo reports the extensions and lists every namespace and the path table', () => {
        const d = run('isoinfo', ['-d', '-i', image]);
        expect(d).toContain('Volume id: CIDATA');
        expect(d.includes('Joliet with UCS level 3 found')).toBe(v.joliet);
        expect(d.includes('Rock Ridge signatures')).toBe(v.rockRidge);
        const dirs = Object.values(expected).filter((e) => e.type === 'directory').length + 1;
        // The primary (plain ISO 9660) tree: every file and symlink appears once as NAME.EXT;1.
        const primary = run('isoinfo', ['-l', '-i', image]).match(/;1\s*$/gm) ?? [];
        expect(primary).toHaveLength(Object.values(expected).filter((e) => e.type !== 'directory').length);
        const pathTable = run('isoinfo', ['-p', '-i', image])
          .split('\n')
          .filter((l) => /^\s*\d+:/.test(l));
        expect(pathTable).toHaveLength(dirs);
        // cdrkit's isoinfo has only single-byte charsets; the 64-character ASCII name checks the
        // Joliet length limit here, Unicode is checked byte-exact by 7z, osirrox and pycdlib.
        if (v.joliet) expect(run('isoinfo', ['-J', '-l', '-i', image])).toContain(`${'long-name-'.repeat(6)}1234`);
        if (v.rockRidge) expect(run('isoinfo', ['-R', '-l', '-i', image])).toMatch(/-rwxr-xr-x .* run\.sh/);
      });

      it('osirrox extracts the same bytes, names, modes and links', () => {
        const out = join(work, `osirrox-${v.joliet}-${v.rockRidge}`);
        run('osirrox', ['-indev', image, '-extract', '/', out]);
        const got = snapshot(out, { modes: v.rockRidge });
        expect(v.rockRidge ? got : stripModes(got)).toEqual(v.rockRidge ? expected : stripModes(expected));
      });

      it('7z lists every path (it reads Joliet names)', () => {
        const listing = run('7z', ['l', '-slt', image]);
        const paths = [...listing.matchAll(/^Path = (.+)$/gm)].map((m) => `/${m[1]}`).slice(1);
        expect(paths).toHaveLength(Object.keys(expected).length);
        if (v.joliet) expect(new Set(paths)).toEqual(new Set(Object.keys(expected).map(jolietName)));
      });

      it('blkid sees the cloud-init label', () => {
        const out = run('blkid', ['-p', '-o', 'export', image]);
        expect(out).toContain('TYPE=iso9660');
        expect(out).toMatch(v.joliet ? /LABEL=cidata/ : /LABEL=CIDATA/);
      });

      it('pycdlib opens it strictly and walks every record', () => {
        const r = spawnSync('/usr/bin/python3', ['-c', PYCDLIB_WALK, image], { encoding: 'utf8', maxBuffer: 64 << 20 });
        expect(r.stderr).toBe('');
        const walked = JSON.parse(r.stdout) as Record<string, string[] | null>;
        const names = (ns: string) => walked[ns]!.filter((p) => !p.startsWith('size:'));
        expect(names('iso').length).toBe(Object.keys(expected).length);
        if (v.joliet) expect(new Set(names('joliet'))).toEqual(new Set(Object.keys(expected).map(jolietName)));
        if (v.rockRidge) expect(new Set(names('rr'))).toEqual(new Set(Object.keys(expected)));
      });

      it('our reader gives back the same tree', async () => {
        const got = await readBack(image);
        const expectedNoModes = Object.fromEntries(
          Object.entries(expected).map(([k, { mode: _m, ...rest }]) => [k, rest]),
        );
        expect(got).toEqual(expectedNoModes);
        if (v.rockRidge) {
          const dest = join(work, `ours-${v.joliet}-${v.rockRidge}`);
          // The tree's abs-link points at /etc/hostname: kept as it is only when asked.
          await expect(extractIso(image, dest)).rejects.toMatchObject({ code: 'ISO_UNSAFE_ENTRY', path: '/abs-link' });
          await extractIso(image, dest, { keepEscapingSymlinks: true });
          expect(snapshot(dest, { modes: true })).toEqual(expected);
        }
      });
    });
  }

  it('reads images made by genisoimage -J -R back to the same tree', async () => {
    const src = join(work, 'src-gen');
    makeTree(src, { symlinks: true, longNames: false });
    const image = join(work, 'gen.iso');
    run('genisoimage', ['-quiet', '-J', '-R', '-V', 'gen', '-o', image, src]);
    const dest = join(work, 'gen-out');
    await extractIso(image, dest, { keepEscapingSymlinks: true });
    expect(snapshot(dest, { modes: true })).toEqual(snapshot(src, { modes: true }));
  });
});
