import type { Ora } from 'ora';
import { type Reporter, silentReporter, type Trace } from '@stack/emulator';
import { progressRenderer } from './progress-bar.js';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/**
 * Progress on `stream` (stderr by default, so stdout stays for results): ora spinners with the step's
 * elapsed time when it is a TTY, otherwise one line per step start and end with elapsed times.
 */
export async function createReporter(
  trace: Trace,
  stream: NodeJS.WriteStream = process.stderr,
  options: { tty?: boolean } = {},
): Promise<Reporter> {
  // --verbose --json: stderr is one JSON object per line, and the trace has every step and message.
  return traced(
    trace,
    trace.jsonLines ? silentReporter : await plainOrSpinner(stream, { verbose: trace.verbose, ...options }),
  );
}

/** The same reporter, its messages also in the command's trace. */
function traced(trace: Trace, r: Reporter): Reporter {
  return {
    step(text) {
      trace.event('step-start', { text });
      const s = r.step(text);
      return {
        update: (t) => (trace.event('step-update', { text: t }), s.update(t)),
        succeed: (t) => (trace.event('step-done', { text: t ?? text }), s.succeed(t)),
        fail: (t) => (trace.event('step-failed', { text: t ?? text }), s.fail(t)),
      };
    },
    info: (t) => (trace.event('info', { text: t }), r.info(t)),
    warn: (t) => (trace.event('warn', { text: t }), r.warn(t)),
    ...(r.progress ? { progress: r.progress } : {}),
  };
}

async function plainOrSpinner(
  stream: NodeJS.WriteStream,
  options: { tty?: boolean; verbose: boolean },
): Promise<Reporter> {
  // A terminal that reports 0 columns (e.g. a pty nobody sized) sends ora into an endless line-clearing
  // loop: spinners only where the width is known; and none under --verbose, whose lines they would overwrite.
  const tty =
    options.tty ?? (stream.isTTY === true && (stream.columns ?? 0) > 0 && !process.env.CI && !options.verbose);
  const t0 = Date.now();
  const line = (s: string) => stream.write(`${s}\n`);
  if (!tty) {
    return {
      step(text) {
        const start = Date.now();
        line(`[${seconds(start - t0).padStart(6)}] ${text}`);
        return {
          update: (t) => line(`[${seconds(Date.now() - t0).padStart(6)}]   ${t}`),
          succeed: (t) =>
            line(`[${seconds(Date.now() - t0).padStart(6)}] ✓ ${t ?? text} (${seconds(Date.now() - start)})`),
          fail: (t) =>
            line(`[${seconds(Date.now() - t0).padStart(6)}] ✗ ${t ?? text} (${seconds(Date.now() - start)})`),
        };
      },
      info: (t) => line(t),
      warn: (t) => line(`warning: ${t}`),
      progress: progressRenderer(stream, false),
    };
  }
  // Loaded only for a terminal: it is a tenth of the CLI's start-up time.
  const { default: ora } = await import('ora');
  return {
    step(text) {
      const start = Date.now();
      let label = text;
      const spinner: Ora = ora({ text, stream }).start();
      const timer = setInterval(() => (spinner.text = `${label} ${seconds(Date.now() - start)}`), 100);
      timer.unref();
      const end = (method: 'succeed' | 'fail', t: string | undefined) => {
        clearInterval(timer);
        spinner[method](`${t ?? label} (${seconds(Date.now() - start)})`);
      };
      return {
        update: (t) => (label = t),
        succeed: (t) => end('succeed', t),
        fail: (t) => end('fail', t),
      };
    },
    info: (t) => line(t),
    warn: (t) => line(`⚠ ${t}`),
    progress: progressRenderer(stream, true),
  };
}
