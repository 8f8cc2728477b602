import { describe, expect, it } from 'vitest';
import { ResponseParser } from './response-parser.js';

/** Feeds `text` in pieces of `step` bytes (1 exercises every split point) and collects the body. */
function parse(text: string, step: number, endAfter = false): { status: number; headers: Map<string, string>; body: string; done: boolean } {
  const p = new ResponseParser();
  const input = Buffer.from(text, 'latin1');
  const body: Buffer[] = [];
  for (let off = 0; off < input.length; off += step) p.feed(input.subarray(off, off + step), (c) => body.push(Buffer.from(c)));
  if (endAfter) p.end();
  return { status: p.head!.status, headers: p.head!.headers, body: Buffer.concat(body).toString('latin1'), done: p.done };
}

describe('ResponseParser', () => {
  const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nx-a: 2\r\n\r\n5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: t\r\n\r\n';
  for (const step of [1, 2, 3, 7, 1000]) {
    it(`decodes a chunked body fed ${step} byte(s) at a time, joining repeated headers`, () => {
      const r = parse(chunked, step);
      expect(r).toMatchObject({ status: 200, body: 'hello 0123456789', done: true });
      expect(r.headers.get('x-a')).toBe('1, 2');
    });
    it(`reads a Content-Length body and skips an interim 100 response (${step})`, () => {
      const r = parse('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 206 Partial Content\r\nContent-Length: 4\r\nContent-Range: bytes 2-5/6\r\n\r\nabcd', step);
      expect(r).toMatchObject({ status: 206, body: 'abcd', done: true });
      expect(r.headers.get('content-range')).toBe('bytes 2-5/6');
    });
  }

  it('reads a body delimited by the end of the connection', () => {
    expect(parse('HTTP/1.0 200 OK\r\n\r\nuntil close', 4, true)).toMatchObject({ body: 'until close', done: true });
  });

  it('has no body for 204 and 304', () => {
    expect(parse('HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n', 5)).toMatchObject({ status: 304, body: '', done: true });
  });

  it('stops after the head when asked, and continues from where it stopped', () => {
    const p = new ResponseParser();
    const input = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc');
    const body: string[] = [];
    const used = p.feed(input, (c) => body.push(Buffer.from(c).toString()), () => false);
    expect(input.subarray(used).toString()).toBe('abc');
    expect(body).toEqual([]);
    p.feed(input.subarray(used), (c) => body.push(Buffer.from(c).toString()));
    expect(body.join('')).toBe('abc');
    expect(p.done).toBe(true);
  });

  it('says how much is missing when the connection ends early', () => {
    const p = new ResponseParser();
    p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'), () => {});
    expect(() => p.end()).toThrow(/closed in the middle of the body \(7 bytes missing\)/);
    expect(() => new ResponseParser().end()).toThrow(/before the response head/);
  });

  it('reports a broken protocol as FETCH_PROTOCOL, not as a network error', () => {
    const bad = (text: string) => {
      try {
        new ResponseParser().feed(Buffer.from(text), () => {});
      } catch (e) {
        return e as { code: string; message: string };
      }
      throw new Error('no error');
    };
    expect(bad('SSH-2.0-OpenSSH\r\n\r\n')).toMatchObject({ code: 'FETCH_PROTOCOL', message: expect.stringContaining('bad status line') });
    expect(bad('HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n')).toMatchObject({ code: 'FETCH_PROTOCOL' });
    expect(bad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')).toMatchObject({ code: 'FETCH_PROTOCOL', message: expect.stringContaining('chunk size') });
    expect(bad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n')).toMatchObject({ code: 'FETCH_PROTOCOL', message: expect.stringContaining('longer than its size') });
    expect(bad(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(70_000)}`)).toMatchObject({ code: 'FETCH_PROTOCOL' });
  });
});
