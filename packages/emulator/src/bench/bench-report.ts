import { formatStopTimings, formatTimings } from '../instance/timings-text.js';
import type { ScenarioResult } from './bench.js';
import type { Scenario } from './bench-scenarios.js';
import { formatInstances, mib } from './instances-text.js';

/** Each scenario's target median (ms), by accelerator; a scenario without one is reported without a verdict. */
const TARGETS: Record<string, Partial<Record<Scenario, number>>> = {
  // Under TCG on the 2-core CI VM (issue targets): golden resume with and without rotation, the saved
  // session, a stop that saves it.
  // instances-4: issue 30, four instances at once from one template all healthy within 3 s.
  tcg: {
    'resume-rotation': 800,
    resume: 550,
    cold: 25_000,
    'session-resume': 800,
    'stop-with-save': 500,
    'instances-4': 3000,
  },
  kvm: { 'resume-rotation': 500, resume: 300, cold: 10_000 },
  hvf: { 'resume-rotation': 500, resume: 300, cold: 10_000 },
};

/** A bench's results as the CLI writes them (`--output`, `--json`): each with the target its median is held to. */
export interface BenchReport {
  name: 'emulator-lifecycle';
  /** When the report was made (ISO 8601). */
  date: string;
  host: { platform: string; arch: string };
  results: Array<ScenarioResult & { targetMs: number | undefined }>;
}

/** The machine and the moment a report is made on. @default this process's platform and architecture, now */
interface ReportFacts {
  platform?: string;
  arch?: string;
  now?: Date;
}

/** The report of a bench's results: each result gets its scenario's target under its accelerator. */
export function benchReport(results: readonly ScenarioResult[], facts: ReportFacts = {}): BenchReport {
  return {
    name: 'emulator-lifecycle',
    date: (facts.now ?? new Date()).toISOString(),
    host: { platform: facts.platform ?? process.platform, arch: facts.arch ?? process.arch },
    results: results.map((r) => ({ ...r, targetMs: TARGETS[r.accel]?.[r.scenario] })),
  };
}

/**
 * The report as text, a few lines per scenario: its median against the target (met or not), the
 * median split, the time from QEMU's launch to a running guest, QEMU's memory, and what an instances
 * scenario adds.
 */
export function formatBenchReport(report: BenchReport): string {
  return report.results.map(resultText).join('');
}

function resultText(r: BenchReport['results'][number]): string {
  const target = r.targetMs
    ? ` (target <= ${(r.targetMs / 1000).toFixed(2)} s: ${r.medianMs <= r.targetMs ? 'met' : 'NOT met'})`
    : '';
  const launch =
    r.split.running !== undefined && r.split.qemuLaunched !== undefined
      ? `  launch -> running ${((r.split.running - r.split.qemuLaunched) / 1000).toFixed(3)} s (${r.snapshotFormat ?? 'no snapshot'})\n`
      : '';
  const memory = r.memory
    ? `  QEMU memory after the start: RSS ${mib(r.memory.rssKiB)}${r.memory.pssKiB !== undefined ? `, PSS ${mib(r.memory.pssKiB)}` : ''}\n`
    : '';
  return `${r.scenario.padEnd(16)} ${r.accel} ${r.boot}  median ${(r.medianMs / 1000).toFixed(2)} s over ${r.runs} runs${target}\n  split: ${r.scenario.startsWith('stop') ? formatStopTimings(r.split) : formatTimings(r.split)}\n${launch}${memory}${r.instances ? formatInstances(r.instances) : ''}`;
}
