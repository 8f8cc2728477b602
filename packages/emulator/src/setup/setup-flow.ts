import { planSetup, type SetupFacts, type SetupPlan } from './setup-plan.js';

/** How setup talks to the person and the host: the CLI gives the terminal's, tests their own. */
export interface SetupIo {
  /** A yes/no question on the terminal; false unless the answer is yes. */
  ask(question: string): Promise<boolean>;
  /** Runs one command attached to the terminal (sudo may ask for a password); resolves with its exit code. */
  run(argv: readonly string[]): Promise<number>;
  /** One line of the report. */
  print(line: string): void;
}

export interface SetupOutcome {
  /** Nothing is missing (any more). */
  ok: boolean;
  /** The plan as found. */
  plan: SetupPlan;
  /** The plan after the commands ran, when they did. */
  after?: SetupPlan;
  /** The commands that ran, in order. */
  ran: string[][];
  /** The person said no. */
  declined?: boolean;
}

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`);
const commandText = (argv: readonly string[]) => argv.map(quote).join(' ');

/** The plan as lines: what is missing (and what for), and the commands, or why there are none. */
export function describePlan(plan: SetupPlan): string[] {
  if (plan.missing.length === 0) return ['everything stack-emulator needs is installed'];
  const lines = ['missing:'];
  for (const m of plan.missing) lines.push(`  ${m.tool.padEnd(12)} ${m.required ? '(required) ' : ''}${m.why}`);
  if (plan.blocked) lines.push(plan.blocked);
  else {
    lines.push(plan.commands.length === 1 ? 'to install it, run:' : 'to install them, run:');
    for (const c of plan.commands) lines.push(`  ${commandText(c)}`);
  }
  return lines;
}

/**
 * `stack-emulator setup`: prints what is missing and the commands; at a terminal, and when `install`,
 * asks, runs them one by one (stopping at the first that fails) and checks again. Without a terminal
 * (or without `install`) it only prints. `probe` is called again after the commands ran.
 */
export async function runSetup(
  probe: () => SetupFacts,
  io: SetupIo,
  options: { install: boolean },
): Promise<SetupOutcome> {
  const plan = planSetup(probe());
  for (const line of describePlan(plan)) io.print(line);
  if (plan.missing.length === 0) return { ok: true, plan, ran: [] };
  if (plan.blocked || plan.commands.length === 0 || !options.install) return { ok: false, plan, ran: [] };
  if (!plan.ask) {
    io.print('not a terminal: nothing was installed (run the commands above, or `stack-emulator setup` in a terminal)');
    return { ok: false, plan, ran: [] };
  }
  if (!(await io.ask(`run ${plan.commands.length === 1 ? 'this command' : 'these commands'} now? [y/N] `))) {
    io.print('nothing was installed');
    return { ok: false, plan, ran: [], declined: true };
  }
  const ran: string[][] = [];
  for (const c of plan.commands) {
    ran.push(c);
    const code = await io.run(c);
    if (code !== 0) {
      io.print(`\`${commandText(c)}\` failed (exit ${code}); nothing after it was run`);
      return { ok: false, plan, ran };
    }
  }
  const after = planSetup(probe());
  if (after.missing.length > 0) {
    io.print(`still missing after the install: ${after.missing.map((m) => m.tool).join(', ')}`);
    return { ok: false, plan, after, ran };
  }
  io.print('done: everything stack-emulator needs is installed');
  return { ok: true, plan, after, ran };
}
