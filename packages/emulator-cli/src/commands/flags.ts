/**
 * The flags of each command that takes values, one zod schema each. Loaded by a command's action (not
 * at start-up: zod is most of the bundle's parse time), and every refusal is CONFIG_INVALID naming the
 * flag, the value and what to give instead (exit code 2).
 */
import { EmulatorError, SCENARIOS, type Scenario } from '@stack/emulator';
import { SCENARIO_GROUPS } from '@stack/emulator/bench-scenarios';
import { z } from 'zod';

/** Seconds as given on the command line, as milliseconds within [min, max] seconds. */
const seconds = (flag: string, min: number, max: number) =>
  z.string().transform((v, ctx) => {
    const s = Number(v);
    if (v.trim() === '' || !Number.isFinite(s) || s < min || s > max) {
      ctx.addIssue({ code: 'custom', message: `${flag} ${v}: give a number of seconds from ${min} to ${max}` });
      return z.NEVER;
    }
    return s * 1000;
  });

/** An integer as given on the command line, within [min, max]. */
const integer = (flag: string, min: number, max: number) =>
  z.string().transform((v, ctx) => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `${flag} ${v}: give an integer from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });

export const stopFlags = z.object({ timeout: seconds('--timeout', 0, 86_400).optional() });

export const execFlags = z.object({
  timeout: seconds('--timeout', 1, 86_400),
  env: z.array(z.string()).transform((all, ctx) => {
    const env: Record<string, string> = {};
    for (const kv of all) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(kv);
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `--env ${kv}: give KEY=VALUE` });
        return z.NEVER;
      }
      env[m[1]!] = m[2]!;
    }
    return env;
  }),
});

export const logsFlags = z.object({ lines: integer('--lines', 0, 1_000_000) });

export const benchFlags = z.object({
  runs: integer('--runs', 1, 1000),
  scenarios: z.string().transform((v, ctx) => {
    // A group (`instances`) stands for its scenarios, each once.
    const all = [...new Set(v.split(',').flatMap((s) => SCENARIO_GROUPS[s.trim()] ?? [s.trim()]))];
    const unknown = all.find((s) => !SCENARIOS.includes(s as Scenario));
    if (unknown !== undefined) {
      ctx.addIssue({ code: 'custom', message: `--scenarios: unknown scenario ${unknown}` });
      return z.NEVER;
    }
    return all as Scenario[];
  }),
});

/** Parses a command's options with its schema; the first refusal is CONFIG_INVALID. */
export function parseFlags<S extends z.ZodType>(schema: S, opts: unknown): z.output<S> {
  const r = schema.safeParse(opts);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const names = [...SCENARIOS, ...Object.keys(SCENARIO_GROUPS)];
  const hint = issue.message.startsWith('--scenarios') ? { hint: `use some of ${names.join(', ')}` } : {};
  throw new EmulatorError('CONFIG_INVALID', issue.message, hint);
}
