import { appendFileSync } from 'node:fs';
import { isProcessError, runProcess } from '@stack/internal';
import { BuildError } from './errors.js';

/** One final newline off, as the callers (and the log) had it from execa. */
const chomp = (text: string) => text.replace(/\r?\n$/, '');

/** Runs a build command, appending its output to `log`; a failure names the command and its last output. */
export async function run(
  cmd: string,
  args: string[],
  options: { log: string; cwd?: string; input?: string; env?: Record<string, string>; signal?: AbortSignal },
): Promise<string> {
  appendFileSync(options.log, `\n$ ${cmd} ${args.join(' ')}\n`);
  const r = await runProcess(cmd, args, {
    cwd: options.cwd,
    input: options.input,
    env: options.env,
    all: true,
    reject: false,
    signal: options.signal,
  }).catch((e: unknown) => {
    if (!isProcessError(e)) throw e;
    throw new BuildError('IMAGE_BUILD_FAILED', e.message, { cause: e });
  });
  const all = chomp(r.all ?? '');
  appendFileSync(options.log, all);
  if (r.exitCode !== 0) {
    const tail = all.trim().split('\n').slice(-15).join('\n');
    throw new BuildError('IMAGE_BUILD_FAILED', `${r.command} failed (${r.exitCode ?? r.signal}):\n${tail}`);
  }
  return chomp(r.stdout);
}
