import type { EmulatorConfig } from '../config/resolve-config.js';
import type { Op } from '../context/op.js';
import { silentReporter } from '../report/reporter.js';
import { sessionStore } from '../session/session.js';
import { startEmulator } from '../boot/start.js';
import type { StartMode, Timings } from '../instance/state.js';
import { stopEmulator } from '../instance/stop.js';

import type { Scenario } from './bench-scenarios.js';
import { isCheckpointScenario, runCheckpointScenario } from './bench-checkpoint.js';

export interface ScenarioResult {
  scenario: Scenario;
  runs: number;
  accel: string;
  /** The guest's boot path: its kernel directly, or firmware. */
  boot: string;
  /** Median ms: from the start command to all services healthy, or of the whole stop. */
  medianMs: number;
  allMs: number[];
  /** Median ms of each step (from the command start). */
  split: Timings;
  /** How the golden snapshot keeps RAM (its format), for the starts that resumed one. */
  snapshotFormat: string | undefined;
  /**
   * QEMU's memory right after each start, medians (starts only): resident, and proportional (Linux;
   * pages shared with other processes, a template's page cache, count by share).
   */
  memory: { rssKiB: number; pssKiB: number | undefined } | undefined;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const isStop = (s: Scenario) => s === 'stop-with-save' || s === 'stop-acpi';
const isSession = (s: Scenario) => s === 'session-resume' || s === 'stop-with-save' || isCheckpointScenario(s);

function variant(op: Op, scenario: Scenario): Op {
  const config: EmulatorConfig = Object.freeze({
    ...op.config,
    snapshot: scenario !== 'cold',
    rotation: scenario !== 'resume',
    ephemeral: !isSession(scenario),
    forceCapture: false,
    forceRotate: false,
  });
  return { ...op, config, reporter: silentReporter };
}

const expectedMode: Record<Scenario, StartMode> = {
  'resume-rotation': 'resumed',
  resume: 'resumed',
  cold: 'cold',
  'session-resume': 'session',
  'stop-with-save': 'session',
  'stop-acpi': 'resumed',
  'checkpoint-save': 'session',
  'checkpoint-restore': 'session',
  'checkpoint-suite': 'session',
};

/** The medians of a scenario's runs: the figure, and each step of the split. */
function summary(scenario: Scenario, all: number[], timings: Timings[]) {
  const steps = [...new Set(timings.flatMap((t) => Object.keys(t)))];
  const split = Object.fromEntries(
    steps.map((k) => [k, median(timings.map((t) => t[k]).filter((v): v is number => v !== undefined))]),
  );
  return { scenario, runs: all.length, medianMs: median(all), allMs: all, split };
}

/**
 * Start/stop cycles per scenario; a start's clock runs from the start call to all-healthy, a stop's
 * over the whole stop. Warm-ups are not counted: one start and stop that captures the golden snapshot
 * when there is none, and for the session scenarios one that saves a session (begun afresh).
 */
export async function runBench(
  op: Op,
  options: {
    runs: number;
    scenarios: Scenario[];
    onRun?: (scenario: Scenario, i: number, ms: number) => void;
  },
): Promise<ScenarioResult[]> {
  const { config } = op;
  const out: ScenarioResult[] = [];
  const stop = (c: Op, scenario: Scenario) =>
    stopEmulator(c, { timeoutMs: scenario === 'cold' || scenario === 'stop-acpi' ? c.config.stopTimeoutMs : 0 });
  if (options.scenarios.some((s) => s !== 'cold' && !isCheckpointScenario(s))) {
    const warm = variant(op, 'resume');
    await startEmulator(warm);
    await stop(warm, 'resume');
  }
  if (options.scenarios.some(isSession)) {
    await sessionStore(config).drop();
    const warm = variant(op, 'session-resume');
    await startEmulator(warm);
    await stop(warm, 'session-resume');
  }
  for (const scenario of options.scenarios) {
    if (isCheckpointScenario(scenario)) {
      const r = await runCheckpointScenario(op, scenario, options.runs, (i, ms) => options.onRun?.(scenario, i, ms));
      out.push({
        ...summary(scenario, r.ms, r.splits),
        accel: r.accel,
        boot: r.boot,
        snapshotFormat: r.format,
        memory: undefined,
      });
      continue;
    }
    const c = variant(op, scenario);
    const all: number[] = [];
    const timings: Timings[] = [];
    let accel = '';
    let boot = '';
    let format: string | undefined;
    const rss: number[] = [];
    const pss: number[] = [];
    for (let i = 0; i < options.runs; i++) {
      const { state } = await startEmulator(c);
      const mem = c.seams.memory.processMemory(state.pid, config.host.platform);
      if (mem) rss.push(mem.rssKiB);
      if (mem?.pssKiB !== undefined) pss.push(mem.pssKiB);
      format = state.snapshotFormat;
      const stopped = await stop(c, scenario);
      if (state.mode !== expectedMode[scenario])
        throw new Error(`bench ${scenario}: the start ran ${state.mode} (${state.coldReason ?? ''})`);
      if (scenario === 'stop-with-save' && stopped.how !== 'saved')
        throw new Error(`bench ${scenario}: the stop did not save (${stopped.saveFailed ?? stopped.how})`);
      accel = state.accel;
      boot = state.boot ?? 'firmware';
      const ms = isStop(scenario) ? stopped.elapsedMs : state.timings.healthy!;
      all.push(ms);
      timings.push(isStop(scenario) ? stopped.timings : state.timings);
      options.onRun?.(scenario, i, ms);
    }
    out.push({
      ...summary(scenario, all, timings),
      accel,
      boot,
      snapshotFormat: format,
      memory:
        isStop(scenario) || rss.length === 0
          ? undefined
          : { rssKiB: median(rss), pssKiB: pss.length ? median(pss) : undefined },
    });
  }
  return out;
}
