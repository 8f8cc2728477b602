import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isProcessError, type ProcessError, runProcess, runProcessSync } from './run-process.js';

/** Runs a Node script as the child: a real process, the same on every host. */
const node = (script: string) => [process.execPath, ['-e', script]] as const;

const failure = (e: unknown) => e as ProcessError;

describe('runProcess', () => {
  it('collects stdout and stderr whole (final newline kept) and the exit code', async () => {
    const r = await runProcess(...node('process.stdout.write("out\\n"); process.stderr.write("err\\n")'));
    expect(r).toMatchObject({ exitCode: 0, signal: undefined, stdout: 'out\n', stderr: 'err\n' });
    expect(r.command).toBe(`${process.execPath} -e process.stdout.write("out\\n"); process.stderr.write("err\\n")`);
  });

  it('a non-zero exit is PROCESS_FAILED naming the command, the exit code and the end of stderr', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\\n');
    const err = failure(await runProcess(...node(`console.error("${lines}"); process.exit(3)`)).catch((e) => e));
    expect(isProcessError(err) && err.code).toBe('PROCESS_FAILED');
    expect(err.exitCode).toBe(3);
    expect(err.stderrTail.split('\n')).toEqual(Array.from({ length: 15 }, (_, i) => `line ${i + 6}`));
    expect(err.message).toMatch(/^\S+ -e console\.error.* failed \(exit 3\):\nline 6\n/);
  });

  it('with reject: false, resolves whatever the exit', async () => {
    const r = await runProcess(...node('process.exit(4)'), { reject: false });
    expect(r.exitCode).toBe(4);
  });

  it('a file that cannot run is PROCESS_START_FAILED, also with reject: false', async () => {
    const err = failure(await runProcess('/nonexistent/tool', ['x'], { reject: false }).catch((e) => e));
    expect(err.code).toBe('PROCESS_START_FAILED');
    expect(err.message).toContain('cannot run /nonexistent/tool: ');
    expect(err.message).toContain('ENOENT');
  });

  it('a timeout kills it (killSignal) and is PROCESS_TIMEOUT', async () => {
    const started = Date.now();
    const err = failure(
      await runProcess(...node('setInterval(() => {}, 1000)'), { timeout: 200, killSignal: 'SIGKILL' }).catch((e) => e),
    );
    expect(err.code).toBe('PROCESS_TIMEOUT');
    expect(err.signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('an abort kills it: PROCESS_ABORTED with the reason as cause, or the result with reject: false', async () => {
    const reason = new Error('enough');
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 200);
    const err = failure(
      await runProcess(...node('setInterval(() => {}, 1000)'), { signal: controller.signal }).catch((e) => e),
    );
    expect(err.code).toBe('PROCESS_ABORTED');
    expect(err.cause).toBe(reason);
    const again = new AbortController();
    setTimeout(() => again.abort(), 200);
    const r = await runProcess(...node('setInterval(() => {}, 1000)'), { signal: again.signal, reject: false });
    expect(r.signal).toBe('SIGTERM');
  });

  it('writes input to stdin, adds env to this environment, runs in cwd', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'run-')));
    const r = await runProcess(
      ...node(
        'let s = ""; process.stdin.on("data", (d) => (s += d)); process.stdin.on("end", () => process.stdout.write([s, process.env.RUN_TEST, process.cwd(), String(!!process.env.PATH)].join(" ") + "\\n"))',
      ),
      { input: 'in', env: { RUN_TEST: 'yes' }, cwd: dir },
    );
    expect(r.stdout).toBe(`in yes ${dir} true\n`);
  });

  it('stdin is /dev/null without input: a child reading it ends at once', async () => {
    const r = await runProcess(...node('process.stdin.resume(); process.stdin.on("end", () => console.log("eof"))'), {
      timeout: 10_000,
    });
    expect(r.stdout).toBe('eof\n');
  });

  it('hands output over as it arrives, a character split across writes kept whole, and interleaves `all`', async () => {
    const seen: string[] = [];
    const errs: string[] = [];
    const r = await runProcess(
      ...node(
        'const b = Buffer.from("é\\n"); process.stdout.write(b.subarray(0, 1)); setTimeout(() => { process.stdout.write(b.subarray(1)); process.stderr.write("e\\n"); }, 100)',
      ),
      { onStdout: (t) => seen.push(t), onStderr: (t) => errs.push(t), all: true },
    );
    expect(seen.join('')).toBe('é\n');
    expect(seen.every((t) => !t.includes('\ufffd'))).toBe(true);
    expect(errs).toEqual(['e\n']);
    expect(r.stdout).toBe('é\n');
    expect(r.all).toBe('é\ne\n');
  });
});

describe('runProcessSync', () => {
  it('gives the same results and errors', () => {
    expect(runProcessSync(...node('console.log("sync")'))).toMatchObject({ exitCode: 0, stdout: 'sync\n' });
    expect(runProcessSync(...node('process.stdin.pipe(process.stdout)'), { input: 'piped' }).stdout).toBe('piped');
    const failed = failure(
      (() => {
        try {
          return runProcessSync(...node('console.error("bad"); process.exit(2)'));
        } catch (e) {
          return e;
        }
      })(),
    );
    expect([failed.code, failed.exitCode, failed.stderrTail]).toEqual(['PROCESS_FAILED', 2, 'bad']);
    expect(() => runProcessSync('/nonexistent/tool', [])).toThrow(/cannot run \/nonexistent\/tool: .*ENOENT/);
    expect(() => runProcessSync(...node('setInterval(() => {}, 1000)'), { timeout: 200 })).toThrow(
      expect.objectContaining({ code: 'PROCESS_TIMEOUT' }),
    );
  });
});
