import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classify, encodeCommand, MessageDecoder, type QmpMessage } from './message.js';

// Recorded from qemu-system-x86_64 10.0.2 (-machine none): stop, cont, an unknown command,
// query-status, quit. Note STOP and SHUTDOWN arrive before the replies of the commands causing them.
const transcript = readFileSync(new URL('../test/fixtures/stop-cont-quit.server.txt', import.meta.url));

function decodeInChunks(bytes: Buffer, size: number): QmpMessage[] {
  const d = new MessageDecoder();
  const out: QmpMessage[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    for (const m of d.push(bytes.subarray(i, i + size))) if (m.type !== 'reset') out.push(m);
  }
  return out;
}

describe('MessageDecoder on a recorded transcript', () => {
  const whole = decodeInChunks(transcript, transcript.length);

  it('classifies every message', () => {
    expect(whole.map((m) => m.type)).toEqual([
      'greeting',
      'return',
      'event',
      'return',
      'event',
      'return',
      'error',
      'return',
      'event',
      'return',
    ]);
    expect(whole[0]).toMatchObject({
      type: 'greeting',
      greeting: { version: { qemu: { major: 10 } }, capabilities: ['oob'] },
    });
    expect(whole[6]).toEqual({
      type: 'error',
      id: 'b',
      errorClass: 'CommandNotFound',
      desc: 'The command bogus has not been found',
    });
    expect(whole[8]).toMatchObject({ type: 'event', event: { event: 'SHUTDOWN', data: { reason: 'host-qmp-quit' } } });
  });

  for (const size of [1, 2, 3, 7, 13, 64, 1000]) {
    it(`gives the same messages when fed in ${size}-byte chunks`, () => {
      expect(decodeInChunks(transcript, size)).toEqual(whole);
    });
  }
});

describe('classify', () => {
  it('keeps an id-less error as an error without id', () => {
    expect(classify('{"error": {"class": "GenericError", "desc": "JSON parse error, expecting value"}}')).toEqual({
      type: 'error',
      id: undefined,
      errorClass: 'GenericError',
      desc: 'JSON parse error, expecting value',
    });
  });
  it('rejects non-JSON, non-objects and unknown shapes', () => {
    expect(classify('{oops').type).toBe('invalid');
    expect(classify('[1]').type).toBe('invalid');
    expect(classify('{"what": 1}').type).toBe('invalid');
    expect(classify('{"error": "x"}').type).toBe('invalid');
  });
  it('ignores unknown keys (forward compatibility)', () => {
    expect(classify('{"return": 5, "id": 1, "future": true}')).toEqual({ type: 'return', id: 1, value: 5 });
  });
});

describe('encodeCommand', () => {
  it('writes one LF-terminated JSON line', () => {
    expect(encodeCommand('stop', undefined, 'a').toString()).toBe('{"execute":"stop","id":"a"}\n');
  });
  it('writes bigint arguments as exact JSON integers (guest-set-time nanoseconds exceed 2^53)', () => {
    const ns = 1795374381912236123n;
    const line = encodeCommand('guest-set-time', { time: ns }, 1).toString();
    expect(line).toBe('{"execute":"guest-set-time","arguments":{"time":1795374381912236123},"id":1}\n');
  });
});
