import { describe, expect, it } from 'vitest';
import { LineDecoder } from './line-decoder.js';

const lines = (items: ReturnType<LineDecoder['push']>) => items.map((i) => (i.type === 'line' ? i.text : i.type));

describe('LineDecoder', () => {
  it('splits LF and CRLF lines and keeps a partial line', () => {
    const d = new LineDecoder({ maxLineBytes: 100 });
    expect(lines(d.push(Buffer.from('a\r\nb\nc')))).toEqual(['a', 'b']);
    expect(d.pending).toBe(1);
    expect(lines(d.push(Buffer.from('d\r\n')))).toEqual(['cd']);
  });

  it('joins a multi-byte UTF-8 character split across chunks', () => {
    const d = new LineDecoder({ maxLineBytes: 100 });
    const bytes = Buffer.from('"ü€"\n');
    const out = [...bytes].flatMap((b) => lines(d.push(Uint8Array.of(b))));
    expect(out).toEqual(['"ü€"']);
  });

  it('reports an oversized line once, then carries on with the next line', () => {
    const d = new LineDecoder({ maxLineBytes: 8 });
    const out = [...d.push(Buffer.from('0123456')), ...d.push(Buffer.from('789abc\nok\n'))];
    expect(out[0]).toMatchObject({ type: 'overflow', bytes: 13 });
    expect(out[1]).toEqual({ type: 'line', text: 'ok' });
  });

  it('treats the reset byte as "drop the partial line" (QGA guest-sync-delimited)', () => {
    const d = new LineDecoder({ maxLineBytes: 100, resetByte: 0xff });
    const out = d.push(Buffer.concat([Buffer.from('{"stale'), Buffer.from([0xff]), Buffer.from('{"return": 1}\n')]));
    expect(lines(out)).toEqual(['reset', '{"return": 1}']);
  });

  it('skips empty lines', () => {
    const d = new LineDecoder({ maxLineBytes: 100 });
    expect(lines(d.push(Buffer.from('\r\n\nx\n')))).toEqual(['x']);
  });
});
