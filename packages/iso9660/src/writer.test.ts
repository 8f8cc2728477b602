import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseDirectoryRecords } from './reader.js';
import { IsoReader } from './reader.js';
import type { IsoEntry } from './tree.js';
import { buildIso, writeIso } from './writer.js';

const date = new Date('2026-01-01T00:00:00Z');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('writeIso / buildIso', () => {
  it('gives identical bytes for the same input and date, in any entry order', async () => {
    const entries: IsoEntry[] = [
      { type: 'file', path: 'b/x.txt', data: 'x' },
      { type: 'file', path: 'a.txt', data: 'a', mode: 0o755 },
      { type: 'symlink', path: 'b/l', target: '../a.txt' },
    ];
    const one = await buildIso(entries, { volumeId: 'T', rockRidge: true, date });
    const two = await buildIso([...entries].reverse(), { volumeId: 'T', rockRidge: true, date });
    expect(sha(one)).toBe(sha(two));
  });

  it('honours SOURCE_DATE_EPOCH', async () => {
    const before = process.env.SOURCE_DATE_EPOCH;
    process.env.SOURCE_DATE_EPOCH = '1700000000';
    try {
      const one = await buildIso([{ type: 'file', path: 'f', data: '1' }], { volumeId: 'T' });
      await new Promise((r) => setTimeout(r, 1100));
      const two = await buildIso([{ type: 'file', path: 'f', data: '1' }], { volumeId: 'T' });
      expect(sha(one)).toBe(sha(two));
      expect(one.toString('ascii', 16 * 2048 + 813, 16 * 2048 + 827)).toBe('20231114221320');
    } finally {
      if (before === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = before;
    }
  });

  it('spreads a 500-entry directory over several sectors without a record crossing a sector', async () => {
    const entries: IsoEntry[] = Array.from({ length: 500 }, (_, i) => ({
      type: 'file',
      path: `many/file-with-a-longish-name-${i}.txt`,
      data: `${i}`,
    }));
    const img = await buildIso(entries, { volumeId: 'T', rockRidge: true, date });
    const p = join(mkdtempSync(join(tmpdir(), 'iso-')), 'm.iso');
    writeFileSync(p, img);
    const reader = await IsoReader.open(p);
    const list = await reader.list();
    expect(list.filter((e) => e.path.startsWith('/many/'))).toHaveLength(500);
    expect((await reader.readFile('/many/file-with-a-longish-name-499.txt')).toString()).toBe('499');
    await reader.close();
    // parseDirectoryRecords throws on a record crossing a sector; walk the primary tree raw too.
    const rootExtent = img.readUInt32LE(16 * 2048 + 156 + 2);
    const root = parseDirectoryRecords(img.subarray(rootExtent * 2048, rootExtent * 2048 + 2048), 'root');
    const many = root.find((r) => r.id.toString() === 'MANY')!;
    expect(many.length).toBeGreaterThan(2048 * 10);
    expect(
      parseDirectoryRecords(img.subarray(many.extent * 2048, many.extent * 2048 + many.length), 'many'),
    ).toHaveLength(502);
  });

  it('refuses duplicates, bad names and symlinks without Rock Ridge', async () => {
    await expect(
      buildIso(
        [
          { type: 'file', path: 'a', data: '' },
          { type: 'file', path: 'a', data: '' },
        ],
        { volumeId: 'T' },
      ),
    ).rejects.toThrow(/"a" is listed twice/);
    await expect(buildIso([{ type: 'file', path: 'a/../b', data: '' }], { volumeId: 'T' })).rejects.toThrow(
      /invalid path/,
    );
    await expect(buildIso([{ type: 'symlink', path: 'l', target: 'x' }], { volumeId: 'T' })).rejects.toMatchObject({
      code: 'ISO_UNSUPPORTED_ENTRY',
    });
    await expect(buildIso([], { volumeId: '' })).rejects.toMatchObject({ code: 'ISO_INVALID_OPTION' });
  });

  it('checks a stream against its declared size', async () => {
    const entry: IsoEntry = {
      type: 'file',
      path: 's',
      data: { size: 10, stream: () => Readable.from([Buffer.alloc(4)]) },
    };
    await expect(buildIso([entry], { volumeId: 'T' })).rejects.toMatchObject({ code: 'ISO_SIZE_MISMATCH' });
  });

  it('never leaves an existing image half-written when writing fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iso-'));
    const out = join(dir, 'seed.iso');
    writeFileSync(out, 'previous image');
    const failing: IsoEntry = {
      type: 'file',
      path: 'big',
      data: {
        size: 8 << 20,
        stream: () =>
          Readable.from(
            (async function* () {
              yield Buffer.alloc(6 << 20);
              throw new Error('disk source vanished');
            })(),
          ),
      },
    };
    await expect(writeIso([failing], out, { volumeId: 'T' })).rejects.toThrow('disk source vanished');
    expect(readFileSync(out, 'utf8')).toBe('previous image');
    expect(readdirSync(dir)).toEqual(['seed.iso']);
  });

  describe('the three ways out give the same bytes', () => {
    // Over 32 MiB of files on disk: writing to a path copies them on threads, straight to their
    // place; a stream and a buffer get them in order from this thread.
    const dir = mkdtempSync(join(tmpdir(), 'iso-paths-'));
    const sparse = join(dir, 'sparse.bin');
    writeFileSync(sparse, 'head');
    truncateSync(sparse, 40 << 20);
    const entries: IsoEntry[] = [
      { type: 'file', path: 'disk/sparse.bin', data: { size: 40 << 20, path: sparse } },
      ...Array.from({ length: 20 }, (_, i): IsoEntry => {
        const p = join(dir, `f${i}`);
        writeFileSync(p, `file ${i} `.repeat(i * 300));
        return { type: 'file', path: `disk/f${i}`, data: { size: readFileSync(p).length, path: p } };
      }),
      { type: 'file', path: 'inline.txt', data: 'in memory' },
      {
        type: 'file',
        path: 'streamed',
        data: { size: 3000, stream: () => Readable.from([Buffer.alloc(1000, 1), Buffer.alloc(2000, 2)]) },
      },
    ];
    const options = { volumeId: 'T', rockRidge: true, date };

    it('to a path (threads), a stream (with backpressure) and a buffer', async () => {
      const expected = sha(await buildIso(entries, options));
      const out = join(dir, 'out.iso');
      await writeIso(entries, out, options);
      expect(sha(readFileSync(out))).toBe(expected);
      const stream = new PassThrough({ highWaterMark: 1024 });
      const parts: Buffer[] = [];
      const collected = (async () => {
        // A slow reader, so the writer must wait for 'drain'.
        for await (const chunk of stream) {
          parts.push(chunk as Buffer);
          await new Promise((r) => setImmediate(r));
        }
      })();
      await writeIso(entries, stream, options);
      stream.end();
      await collected;
      expect(sha(Buffer.concat(parts))).toBe(expected);
    });

    it('puts file data right after the volume descriptors, directories after it', async () => {
      const img = await buildIso(entries, options);
      const pvd = 16 * 2048;
      const rootExtent = img.readUInt32LE(pvd + 156 + 2);
      expect(img.readUInt32LE(pvd + 140)).toBeGreaterThan(20 + (40 << 20) / 2048); // L path table after the data
      expect(rootExtent).toBeGreaterThan(20 + (40 << 20) / 2048);
      // The first file in path order (disk/f0, empty; then disk/f1) starts at sector 19 (16 + PVD + SVD + terminator).
      expect(img.subarray(19 * 2048, 19 * 2048 + 7).toString()).toBe('file 1 ');
    });

    it('a failing copy thread leaves the previous image and no temp file', async () => {
      const out = join(dir, 'keep.iso');
      writeFileSync(out, 'previous image');
      const gone: IsoEntry[] = [
        ...entries,
        { type: 'file', path: 'disk/gone', data: { size: 10, path: join(dir, 'does-not-exist') } },
      ];
      await expect(writeIso(gone, out, options)).rejects.toMatchObject({ code: 'ISO_SOURCE_ERROR' });
      expect(readFileSync(out, 'utf8')).toBe('previous image');
      expect(readdirSync(dir).filter((n) => n.includes('keep'))).toEqual(['keep.iso']);
    });
  });
});
