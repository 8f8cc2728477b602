/**
 * Fault injection through the built CLI: a command run with `--verbose --json` prints each step of its
 * trace on stderr as it happens; at the chosen step the command gets SIGKILL (a crash, the OOM killer,
 * a closed laptop lid) or SIGINT (Ctrl-C). QEMU runs in its own process group, so, as in life, a
 * killed command leaves it running.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, onTestFinished } from 'vitest';
import { cli, type CliResult, processesMentioning, type testInstance } from '../e2e/cli-harness.js';

export type Emu = ReturnType<typeof testInstance>;

/** How many times the trace of `stderr` reached `step`. */
export const stepsSeen = (stderr: string, step: string) =>
  stderr.split('\n').filter((l) => l.includes(`"kind":"step","step":"${step}"`)).length;

export interface Injected extends CliResult {
  /** True when the step was reached and the signal sent (else the command ran to its end). */
  injected: boolean;
}

/** Runs `args` and sends `signal` when its trace reaches `step` for the `nth` time (1 = first). */
export async function faultAt(
  emu: Emu,
  args: string[],
  fault: { step: string; nth?: number; signal: 'SIGKILL' | 'SIGINT' },
): Promise<Injected> {
  let injected = false;
  const r = await cli([...args, '--verbose', '--json'], emu.env, {
    signal: fault.signal,
    interruptAfter: (stderr) => (injected = stepsSeen(stderr, fault.step) >= (fault.nth ?? 1)),
  });
  return { ...r, injected };
}

/** Counts the faults a file injects and passes, printed when it ends (the CLI README quotes the total). */
export function faultCounter(kind: string) {
  let injected = 0;
  let passed = 0;
  afterAll(() => {
    process.stderr.write(`faults (${kind}): ${injected} injected, ${passed} passed\n`);
  });
  return {
    /** Call once the fault was injected; the test counts as passed if it then ends without failing. */
    injected() {
      injected++;
      onTestFinished((ctx) => {
        if (ctx.task.result?.state === 'pass') passed++;
      });
    },
  };
}

const state = (emu: Emu) => {
  try {
    return JSON.parse(readFileSync(join(emu.home, 'run', 'state.json'), 'utf8')) as { pid: number; phase?: string };
  } catch {
    return undefined;
  }
};

/**
 * What must hold after every fault: no QEMU of this home that nothing records (at most one, the one
 * run/state.json names), and `status` answers with a report.
 */
export async function assertNothingUnrecorded(emu: Emu): Promise<void> {
  const qemus = processesMentioning(emu.home).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('qemu-system');
    } catch {
      return false;
    }
  });
  const recorded = state(emu);
  if (qemus.length > 0) expect(recorded?.pid, `QEMU ${qemus.join(',')} runs unrecorded`).toBeDefined();
  expect(qemus.filter((p) => p !== recorded?.pid)).toEqual([]);
  const s = await cli(['status', '--json'], emu.env);
  expect([0, 1, 3], s.stderr).toContain(s.code);
  expect(JSON.parse(s.stdout)).toHaveProperty('vm');
}

/** The next start is healthy: exit 0, and status says healthy. */
export async function assertNextStartHealthy(emu: Emu): Promise<{ mode: string }> {
  const { out } = await emu.started();
  const s = await emu.status();
  expect(s.report.healthy, JSON.stringify(s.report)).toBe(true);
  return out;
}
