import type { EmulatorConfig } from '../config/resolve-config.js';
import type { Op } from '../context/op.js';
import { silentReporter } from '../report/reporter.js';
import { sessionStore } from '../session/session.js';
import { startEmulator } from '../boot/start.js';
import type { StartMode, Timings } from '../instance/state.js';
import { stopEmulator } from '../instance/stop.js';

import { instanceCount, isInstancesScenario, type Scenario, withAloneBaseline } from './bench-scenarios.js';
import { isCheckpointScenario, runCheckpointScenario } from './bench-checkpoint.js';
import { type InstancesDeps, runInstancesScenario, warmInstances } from './bench-instances.js';
import { alonePss, instancesResult, type InstancesResult } from './instances-result.js';
import { median } from './median.js';

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
  /**
   * The instances scenarios: each start's own time, the snapshots resumed, and every QEMU's memory
   * with its shared and private parts (`medianMs` is the wall clock until all are healthy).
   */
  instances?: InstancesResult;
}

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
  'instances-1': 'resumed',
  'instances-2': 'resumed',
  'instances-4': 'resumed',
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
 * when there is none, and for the session scenarios one that saves a session (begun afresh); for the
 * instances scenarios, each instance started once (see warmInstances). `instances-1` runs before the
 * other instances scenarios, added when not asked: its PSS is their ratio's baseline.
 */
export async function runBench(
  op: Op,
  options: {
    runs: number;
    scenarios: Scenario[];
    onRun?: (scenario: Scenario, i: number, ms: number) => void;
    /** What the instances scenarios need: each named instance's operation. @default none (they are refused) */
    instances?: InstancesDeps;
  },
): Promise<ScenarioResult[]> {
  const { config } = op;
  const out: ScenarioResult[] = [];
  const scenarios = withAloneBaseline(options.scenarios);
  const stop = (c: Op, scenario: Scenario) =>
    stopEmulator(c, { timeoutMs: scenario === 'cold' || scenario === 'stop-acpi' ? c.config.stopTimeoutMs : 0 });
  const counts = scenarios.filter(isInstancesScenario).map(instanceCount);
  const instances = options.instances;
  if (counts.length && !instances) throw new Error("bench: the instances scenarios need each instance's operation");
  if (scenarios.some((s) => s !== 'cold' && !isCheckpointScenario(s) && !isInstancesScenario(s))) {
    const warm = variant(op, 'resume');
    await startEmulator(warm);
    await stop(warm, 'resume');
  }
  if (counts.length) await warmInstances(Math.max(...counts), instances!);
  if (scenarios.some(isSession)) {
    await sessionStore(config).drop();
    const warm = variant(op, 'session-resume');
    await startEmulator(warm);
    await stop(warm, 'session-resume');
  }
  let alonePssKiB: number | undefined;
  for (const scenario of scenarios) {
    if (isInstancesScenario(scenario)) {
      const count = instanceCount(scenario);
      const r = await runInstancesScenario(count, options.runs, instances!, (i, ms) =>
        options.onRun?.(scenario, i, ms),
      );
      const result = instancesResult(count, r, alonePssKiB);
      alonePssKiB ??= alonePss(result);
      out.push({
        ...summary(scenario, r.wallMs, r.splits),
        accel: r.accel,
        boot: r.boot,
        snapshotFormat: r.format,
        memory: undefined,
        instances: result,
      });
      continue;
    }
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
