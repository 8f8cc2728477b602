import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/resolve-config.js';
import { cleanConsole, followFile, formatTraceLines, readLog } from './logs.js';

const work = mkdtempSync(join(tmpdir(), 'logs-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('logs', () => {
  it('follows a file as it grows, and from its start again when a new start truncates it', async () => {
    const f = join(work, 'serial.log');
    writeFileSync(f, 'old line\n');
    const got: string[] = [];
    const ac = new AbortController();
    const done = followFile(f, 9, (c) => got.push(c), { signal: ac.signal, intervalMs: 10 });
    await new Promise((r) => setTimeout(r, 40));
    appendFileSync(f, 'second\n');
    await new Promise((r) => setTimeout(r, 60));
    writeFileSync(f, 'new boot\n');
    await new Promise((r) => setTimeout(r, 60));
    ac.abort();
    await done;
    expect(got.join('')).toBe('second\nnew boot\n');
  });

  it('reads the last lines of a log; a missing one says when it appears', async () => {
    const home = join(work, 'home');
    const config = resolveConfig({}, { STACK_EMULATOR_HOME: home, HOME: work });
    await expect(readLog(config, 'console', 5)).rejects.toMatchObject({ code: 'NOT_RUNNING' });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(config.paths.vm, { recursive: true });
    writeFileSync(config.paths.serialLog, Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n') + '\n');
    expect((await readLog(config, 'console', 3)).text).toBe('line 47\nline 48\nline 49');
  });

  it("makes a console readable and a trace's JSON lines into lines", () => {
    expect(cleanConsole('\x1b[2J\x1b[1;1HBooting\r\n')).toBe('Booting\n');
    expect(formatTraceLines('{"t":0.1,"kind":"step","step":"running"}\nnot json\n')).toBe(
      '[trace    0.100s] step running\nnot json',
    );
  });

  // Regression: trace lines were cast; an event without a kind printed as "undefined".
  it('keeps a trace line that is JSON but not an event as it is', () => {
    expect(formatTraceLines('{"t":1}\nnull\n{"t":"x","kind":"step"}\n{"t":2,"kind":"step","step":"up"}')).toBe(
      '{"t":1}\nnull\n{"t":"x","kind":"step"}\n[trace    2.000s] step up',
    );
  });
});
