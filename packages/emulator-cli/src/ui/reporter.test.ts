import { describe, expect, it } from 'vitest';
import { createReporter } from './reporter.js';
import { Trace } from '@stack/emulator';

function fakeStream(columns: number) {
  const out: string[] = [];
  return {
    out,
    stream: { isTTY: true, columns, write: (s: string) => out.push(s) > 0 } as unknown as NodeJS.WriteStream,
  };
}

describe('createReporter', () => {
  // Regression: under a pty that reports 0 columns, ora cleared lines forever and the CLI hung.
  it('prints plain lines on a terminal without a known width', async () => {
    const { out, stream } = fakeStream(0);
    const r = await createReporter(new Trace(), stream);
    const step = r.step('stopping');
    step.succeed('stopped');
    expect(out.join('')).toMatch(/^\[\s+\d+\.\ds\] stopping\n\[\s+\d+\.\ds\] ✓ stopped \(\d+\.\ds\)\n$/);
  });

  it('prints a line per step start and end when not a TTY', async () => {
    const { out, stream } = fakeStream(80);
    (stream as { isTTY: boolean }).isTTY = false;
    const r = await createReporter(new Trace(), stream);
    r.step('a').fail('a broke');
    r.warn('careful');
    expect(out.join('')).toMatch(/✗ a broke.*\nwarning: careful\n$/s);
  });
});
