import { appendFileSync } from 'node:fs';
import { execa } from 'execa';
import { BuildError } from './errors.js';

/** Runs a build command, appending its output to `log`; a failure names the command and its last output. */
export async function run(
  cmd: string,
  args: string[],
  options: { log: string; cwd?: string; input?: string; env?: Record<string, string>; signal?: AbortSignal },
): Promise<string> {
  appendFileSync(options.log, `\n$ ${cmd} ${args.join(' ')}\n`);
  const r = await execa(cmd, args, {
    cwd: options.cwd,
    input: options.input,
    env: options.env,
    all: true,
    reject: false,
    cancelSignal: options.signal,
  });
  appendFileSync(options.log, r.all ?? '');
  if (r.exitCode !== 0) {
    const tail = (r.all ?? '').trim().split('\n').slice(-15).join('\n');
    throw new BuildError(
      'IMAGE_BUILD_FAILED',
      `${cmd} ${args.slice(0, 6).join(' ')}${args.length > 6 ? ' ...' : ''} failed (${r.exitCode ?? r.signal}):\n${tail}`,
    );
  }
  return r.stdout;
}
