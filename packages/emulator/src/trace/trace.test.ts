import { describe, expect, it } from 'vitest';
import { encodeEnvLines, generateSecrets } from '@stack/secret-rotation';
import { formatTraceEvent, redact } from './trace.js';

describe('what a trace may print', () => {
  const secrets = generateSecrets();
  const values = Object.values(secrets);

  it("hides a rotation's secrets wherever they are: guest-exec stdin, its output, arguments, environment", () => {
    const input = Buffer.from(encodeEnvLines(secrets)).toString('base64');
    const message = {
      execute: 'guest-exec',
      arguments: {
        path: '/usr/local/bin/trigger-fast-rotate',
        'input-data': input,
        arg: [`--key=${values[0]}`],
        env: [`STACK_SECRET_SERVER_KEY=${values[1]}`, 'PATH=/usr/bin'],
      },
    };
    const reply = {
      type: 'return',
      value: { exited: true, exitcode: 1, 'err-data': Buffer.from(`refused ${values[2]}\n`).toString('base64') },
    };
    const text = JSON.stringify([redact(message), redact(reply)]);
    for (const v of values) expect(text).not.toContain(v);
    expect(text).toContain('bytes, redacted');
    expect(text).toContain('refused <redacted>');
    expect(text).toContain('STACK_SECRET_SERVER_KEY=<redacted>');
    expect(text).toContain('PATH=/usr/bin');
    expect(text).toContain('/usr/local/bin/trigger-fast-rotate');
  });

  it('keeps everything else as it was', () => {
    const m = {
      execute: 'migrate-incoming',
      arguments: { uri: 'file:/home/u/.stack/emulator/session/resuming.raw' },
      id: 'stack#3',
    };
    expect(redact(m)).toEqual(m);
    expect(redact({ n: 3, ok: true, none: null })).toEqual({ n: 3, ok: true, none: null });
  });

  it('reads as one line per message, direction first', () => {
    expect(formatTraceEvent({ t: 1.2345, kind: 'qmp', direction: 'send', message: { execute: 'cont' } })).toBe(
      '[trace    1.234s] qmp → {"execute":"cont"}',
    );
    expect(formatTraceEvent({ t: 0.5, kind: 'qga', direction: 'recv', message: { type: 'return' } })).toBe(
      '[trace    0.500s] qga ← {"type":"return"}',
    );
  });
});
