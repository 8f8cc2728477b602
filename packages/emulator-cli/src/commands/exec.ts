import { Command } from 'commander';
import { action, interruptible, type CommandIo, withInstance } from './shared.js';

const collect = (v: string, all: string[]) => [...all, v];
const MAX_INPUT = 16 << 20;

export function execCommand(): Command {
  return withInstance(new Command('exec'))
    .description(
      "run a command in the guest (as root) through its agent: stdin, stdout, stderr and the exit code are the command's",
    )
    .argument('<command...>', 'the command; put `--` before it when it has options of its own')
    .passThroughOptions()
    .option('-e, --env <KEY=VALUE>', 'a variable for the command (repeatable)', collect, [])
    .option('--timeout <seconds>', 'how long it may run before it is sent SIGTERM', '3600')
    .addHelpText(
      'after',
      "\nExample: stack-emulator exec -- runuser -u postgres -- psql -d stack -c 'select 1'\nOutput arrives when the command ends (at most 16 MiB per stream: the agent's limit); it has no terminal.\nExit codes: the command's (128 + N when signal N ended it), 3 not running.",
    )
    .action(
      action(async (argv: string[], opts: { env: string[]; timeout: string; instance?: string }, io: CommandIo) => {
        const [{ exec, EmulatorError }, { execFlags, parseFlags }] = await Promise.all([
          import('@stack/emulator'),
          import('./flags.js'),
        ]);
        const { timeout: timeoutMs, env } = parseFlags(execFlags, opts);
        // stdin when something is piped in; a terminal's is left alone (nothing to forward).
        const input = process.stdin.isTTY ? undefined : await readAll(process.stdin);
        // It travels inline in one agent message, as base64.
        if (input && input.length > MAX_INPUT)
          throw new EmulatorError(
            'CONFIG_INVALID',
            `stdin is ${(input.length / 1048576).toFixed(1)} MiB; exec passes at most ${MAX_INPUT / 1048576} MiB`,
            { hint: 'copy large files through a shared project directory (/host<dir> in the guest) instead' },
          );
        const r = await interruptible((signal) =>
          exec({
            instance: opts.instance,
            argv,
            vars: env,
            ...(input ? { input } : {}),
            timeoutMs,
            signal,
            trace: io.trace,
          }),
        );
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
        if (r.truncated) process.stderr.write("stack-emulator: the output was cut at the guest agent's 16 MiB limit\n");
        return r.exitCode ?? 128 + (r.signal ?? 0);
      }),
    );
}

async function readAll(stream: NodeJS.ReadStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
