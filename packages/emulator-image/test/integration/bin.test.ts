import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runIntoClosedPipe } from '../../../../tools/testing/closed-pipe.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};
/** The bin the package publishes. */
const bin = new URL(`../../${pkg.bin['stack-emulator-image']}`, import.meta.url).pathname;

describe('stack-emulator-image bin (built)', () => {
  it('prints its version', () => {
    expect(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim()).toBe(pkg.version);
  });

  it('a reader that went away ends it quietly (no EPIPE stack trace)', async () => {
    const r = await runIntoClosedPipe(bin, ['--help']);
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
    expect(r.code).toBe(0);
  });
});
