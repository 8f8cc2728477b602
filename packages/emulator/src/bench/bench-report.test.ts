import { describe, expect, it } from 'vitest';
import type { ScenarioResult } from './bench.js';
import { benchReport, formatBenchReport } from './bench-report.js';

const result = (over: Partial<ScenarioResult>): ScenarioResult => ({
  scenario: 'resume-rotation',
  runs: 5,
  accel: 'tcg',
  boot: 'direct-kernel',
  medianMs: 730,
  allMs: [700, 730, 760],
  split: {},
  snapshotFormat: undefined,
  memory: undefined,
  ...over,
});

const facts = { platform: 'linux', arch: 'x64', now: new Date('2026-12-01T10:00:00.000Z') };

describe('benchReport', () => {
  it('names the report, the moment and the host, and holds each result to its target under its accelerator', () => {
    const r = benchReport(
      [
        result({ scenario: 'resume-rotation', accel: 'tcg' }),
        result({ scenario: 'resume', accel: 'kvm' }),
        result({ scenario: 'cold', accel: 'hvf' }),
        result({ scenario: 'instances-4', accel: 'tcg' }),
      ],
      facts,
    );
    expect(Object.keys(r)).toEqual(['name', 'date', 'host', 'results']);
    expect(r.name).toBe('emulator-lifecycle');
    expect(r.date).toBe('2026-12-01T10:00:00.000Z');
    expect(r.host).toEqual({ platform: 'linux', arch: 'x64' });
    expect(r.results.map((x) => x.targetMs)).toEqual([800, 300, 10_000, 3000]);
    expect(r.results[0]).toEqual({ ...result({}), targetMs: 800 });
  });

  it('gives no target to a scenario without one, nor under an accelerator without any (absent from the JSON)', () => {
    const r = benchReport(
      [
        result({ scenario: 'stop-acpi' }),
        result({ scenario: 'session-resume', accel: 'kvm' }),
        result({ accel: 'whpx' }),
      ],
      facts,
    );
    expect(r.results.map((x) => x.targetMs)).toEqual([undefined, undefined, undefined]);
    expect(JSON.stringify(r)).not.toContain('targetMs');
  });

  it("defaults to this process's host and now", () => {
    const r = benchReport([]);
    expect(r.host).toEqual({ platform: process.platform, arch: process.arch });
    expect(Math.abs(Date.parse(r.date) - Date.now())).toBeLessThan(60_000);
  });
});

describe('formatBenchReport', () => {
  it("prints a start's median against its target, its split, the launch to running and QEMU's memory", () => {
    const text = formatBenchReport(
      benchReport(
        [
          result({
            split: { healthy: 700, qemuLaunched: 50, running: 310 },
            snapshotFormat: 'template-ram',
            memory: { rssKiB: 600 * 1024, pssKiB: 214 * 1024 },
          }),
        ],
        facts,
      ),
    );
    expect(text).toBe(
      'resume-rotation  tcg direct-kernel  median 0.73 s over 5 runs (target <= 0.80 s: met)\n' +
        '  split: qemuLaunched 0.05s → running 0.31s → healthy 0.70s\n' +
        '  launch -> running 0.260 s (template-ram)\n' +
        '  QEMU memory after the start: RSS 600 MiB, PSS 214 MiB\n',
    );
  });

  it("says a missed target, splits a stop by a stop's steps, and leaves out what was not measured", () => {
    const text = formatBenchReport(
      benchReport(
        [
          result({ scenario: 'stop-with-save', medianMs: 510, split: { ramSaved: 350, stopped: 430, healthy: 1 } }),
          result({ scenario: 'stop-acpi', medianMs: 2000, split: { stopped: 2000 } }),
          result({
            scenario: 'cold',
            accel: 'kvm',
            split: { running: 300 },
            memory: { rssKiB: 2048, pssKiB: undefined },
          }),
        ],
        facts,
      ),
    );
    expect(text).toBe(
      'stop-with-save   tcg direct-kernel  median 0.51 s over 5 runs (target <= 0.50 s: NOT met)\n' +
        '  split: ramSaved 0.35s → stopped 0.43s\n' +
        'stop-acpi        tcg direct-kernel  median 2.00 s over 5 runs\n' +
        '  split: stopped 2.00s\n' +
        'cold             kvm direct-kernel  median 0.73 s over 5 runs (target <= 10.00 s: met)\n' +
        '  split: running 0.30s\n' +
        '  QEMU memory after the start: RSS 2 MiB\n',
    );
  });

  it("adds an instances scenario's lines, and says 'no snapshot' for a launch that resumed none", () => {
    const text = formatBenchReport(
      benchReport(
        [
          result({
            scenario: 'instances-2',
            split: { qemuLaunched: 100, running: 1100 },
            instances: {
              count: 2,
              startMs: { median: 1900, slowest: 2050, all: [] },
              snapshotIds: ['a', 'b'],
              memory: { kind: 'unsupported', reason: 'this host is darwin' },
            },
          }),
        ],
        facts,
      ),
    );
    expect(text).toBe(
      'instances-2      tcg direct-kernel  median 0.73 s over 5 runs\n' +
        '  split: qemuLaunched 0.10s → running 1.10s\n' +
        '  launch -> running 1.000 s (no snapshot)\n' +
        '  each start: median 1.90 s, slowest 2.05 s; 2 snapshots resumed\n' +
        '  memory: unsupported (this host is darwin)\n',
    );
  });
});
