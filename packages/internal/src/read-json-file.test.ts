import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeIssues, readJsonFile, readJsonFileSync } from './read-json-file.js';

const numberSchema = {
  safeParse: (v: unknown) =>
    typeof (v as { n?: unknown })?.n === 'number'
      ? { success: true as const, data: v as { n: number } }
      : { success: false as const, error: { message: 'n: expected a number' } },
};

describe('readJsonFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'read-json-'));

  it('tells a missing file, a valid one and an invalid one apart', async () => {
    expect(await readJsonFile(join(dir, 'none.json'), numberSchema)).toEqual({ kind: 'missing' });
    writeFileSync(join(dir, 'ok.json'), '{"n": 3}');
    expect(await readJsonFile(join(dir, 'ok.json'), numberSchema)).toEqual({ kind: 'ok', value: { n: 3 } });
    writeFileSync(join(dir, 'bad.json'), '{"n": "3"}');
    expect(await readJsonFile(join(dir, 'bad.json'), numberSchema)).toEqual({
      kind: 'invalid',
      reason: 'n: expected a number',
    });
    writeFileSync(join(dir, 'torn.json'), '{"n": 3');
    expect((await readJsonFile(join(dir, 'torn.json'), numberSchema)).kind).toBe('invalid');
  });

  it('throws when the file cannot be read for another reason, rather than calling it invalid', async () => {
    const f = join(dir, 'locked.json');
    writeFileSync(f, '{"n": 1}');
    chmodSync(f, 0);
    if (process.getuid?.() === 0) {
      // root reads any file: use a directory instead (EISDIR is not "missing" either)
      await expect(readJsonFile(dir, numberSchema)).rejects.toMatchObject({ code: 'EISDIR' });
    } else {
      await expect(readJsonFile(f, numberSchema)).rejects.toMatchObject({ code: 'EACCES' });
    }
  });
});

describe('readJsonFileSync', () => {
  it('tells the same apart as readJsonFile, and throws on another read failure', () => {
    const dir = mkdtempSync(join(tmpdir(), 'read-json-sync-'));
    expect(readJsonFileSync(join(dir, 'none.json'), numberSchema)).toEqual({ kind: 'missing' });
    expect(readJsonFileSync(join(dir, 'none', 'deeper.json'), numberSchema)).toEqual({ kind: 'missing' });
    writeFileSync(join(dir, 'ok.json'), '{"n": 3}');
    expect(readJsonFileSync(join(dir, 'ok.json'), numberSchema)).toEqual({ kind: 'ok', value: { n: 3 } });
    writeFileSync(join(dir, 'bad.json'), '{"n": "3"}');
    expect(readJsonFileSync(join(dir, 'bad.json'), numberSchema)).toEqual({
      kind: 'invalid',
      reason: 'n: expected a number',
    });
    writeFileSync(join(dir, 'torn.json'), '{"n": 3');
    expect(readJsonFileSync(join(dir, 'torn.json'), numberSchema)).toMatchObject({ kind: 'invalid' });
    expect(() => readJsonFileSync(dir, numberSchema)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
  });
});

describe('describeIssues', () => {
  it("says a zod schema's first issue on one line, where it is, and how many more there are", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'read-json-'));
    writeFileSync(join(dir, 'two.json'), '{"a": 5, "b": {"c": "x"}}');
    const r = await readJsonFile(join(dir, 'two.json'), z.object({ a: z.string(), b: z.object({ c: z.number() }) }));
    expect(r).toEqual({
      kind: 'invalid',
      reason: 'at a: Invalid input: expected string, received number (and 1 more)',
    });
    // not zod's JSON dump of its issues
    expect(r.kind === 'invalid' && r.reason).not.toContain('\n');
  });

  it('says an issue of the whole value without a path, and falls back to the message without issues', () => {
    expect(describeIssues({ message: 'm', issues: [{ path: [], message: 'expected object' }] })).toBe(
      'expected object',
    );
    expect(describeIssues({ message: 'n: expected a number' })).toBe('n: expected a number');
  });
});
