import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resumableBytes, writePartRecord } from './part-file.js';

const work = mkdtempSync(join(tmpdir(), 'part-file-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const url = 'https://example.test/image.qcow2';

function part(name: string, record: string | undefined): string {
  const p = join(work, `${name}.part`);
  writeFileSync(p, 'x'.repeat(10));
  if (record !== undefined) writeFileSync(`${p}.json`, record);
  return p;
}

const recorder = () => {
  const said: string[] = [];
  return { said, warn: (t: string) => said.push(t) };
};

describe('the resume record of a partial download', () => {
  it('resumes from a valid record of the same URL, written atomically', async () => {
    const p = part('valid', undefined);
    await writePartRecord(p, { url, etag: '"abc"', size: 100 });
    expect(JSON.parse(readFileSync(`${p}.json`, 'utf8'))).toEqual({ url, etag: '"abc"', size: 100 });
    const { said, warn } = recorder();
    expect(await resumableBytes(p, url, warn)).toEqual({ have: 10, record: { url, etag: '"abc"', size: 100 } });
    expect(said).toEqual([]);
  });

  it('starts over without a word when there is no record', async () => {
    const p = part('missing', undefined);
    const { said, warn } = recorder();
    expect(await resumableBytes(p, url, warn)).toEqual({ have: 0, record: undefined });
    expect(existsSync(p)).toBe(false);
    expect(said).toEqual([]);
  });

  // Regression: the record was cast and only its url checked: an etag of another type was sent as If-Range.
  it.each([
    ['torn', '{"url": "https://exa'],
    ['null', 'null'],
    ['wrong-shape', JSON.stringify({ url, etag: 5 })],
    ['negative-size', JSON.stringify({ url, etag: '"a"', size: -1 })],
  ])('starts over on a %s record, and says which file and that nothing is to be done', async (name, text) => {
    const p = part(name, text);
    const { said, warn } = recorder();
    expect(await resumableBytes(p, url, warn)).toEqual({ have: 0, record: undefined });
    expect(existsSync(p)).toBe(false);
    expect(existsSync(`${p}.json`)).toBe(false);
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(`${p}.json is not a valid resume record`);
    expect(said[0]).toContain('starts over, nothing to do');
    expect(said[0]).not.toContain('\n');
  });
});
