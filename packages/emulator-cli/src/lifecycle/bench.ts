import type { EmulatorConfig } from '../config/resolve-config.js';
import { silentReporter } from '../ui/reporter.js';
import { startEmulator } from './start.js';
import type { Timings } from './state.js';
import { stopEmulator } from './stop.js';

export type Scenario = 'resume-rotation' | 'resume' | 'cold';

export interface ScenarioResult {
  scenario: Scenario;
  runs: number;
  accel: string;
  /** The guest's boot path: its kernel directly, or firmware. */
  boot: string;
  /** Median ms from the start command to all services healthy. */
  medianMs: number;
  allMs: number[];
  /** Median ms of each step (from the command start). */
  split: Timings;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function variant(config: EmulatorConfig, scenario: Scenario): EmulatorConfig {
  return Object.freeze({ ...config, snapshot: scenario !== 'cold', rotation: scenario !== 'resume', forceCapture: false });
}

/**
 * Start/stop cycles per scenario; the clock runs from the start call to all-healthy. A warm-up start
 * (which captures the snapshot when there is none) is not counted.
 */
export async function runBench(config: EmulatorConfig, options: { runs: number; scenarios: Scenario[]; onRun?: (scenario: Scenario, i: number, ms: number) => void; signal?: AbortSignal }): Promise<ScenarioResult[]> {
  const out: ScenarioResult[] = [];
  const stop = (c: EmulatorConfig, scenario: Scenario) => stopEmulator(c, { timeoutMs: scenario === 'cold' ? c.stopTimeoutMs : 0 });
  if (options.scenarios.some((s) => s !== 'cold')) {
    const warm = variant(config, 'resume');
    await startEmulator(warm, { reporter: silentReporter, signal: options.signal });
    await stop(warm, 'resume');
  }
  for (const scenario of options.scenarios) {
    const c = variant(config, scenario);
    const all: number[] = [];
    const timings: Timings[] = [];
    let accel = '';
    let boot = '';
    for (let i = 0; i < options.runs; i++) {
      const t0 = Date.now();
      const { state } = await startEmulator(c, { reporter: silentReporter, signal: options.signal, t0 });
      await stop(c, scenario);
      if (state.mode !== (scenario === 'cold' ? 'cold' : 'resumed')) throw new Error(`bench ${scenario}: the start ran ${state.mode} (${state.coldReason ?? ''})`);
      accel = state.accel;
      boot = state.boot ?? 'firmware';
      all.push(state.timings.healthy!);
      timings.push(state.timings);
      options.onRun?.(scenario, i, state.timings.healthy!);
    }
    const steps = [...new Set(timings.flatMap((t) => Object.keys(t)))];
    const split = Object.fromEntries(steps.map((k) => [k, median(timings.map((t) => t[k]).filter((v): v is number => v !== undefined))]));
    out.push({ scenario, runs: options.runs, accel, boot, medianMs: median(all), allMs: all, split });
  }
  return out;
}
