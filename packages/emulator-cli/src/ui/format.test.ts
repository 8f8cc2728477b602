import { describe, expect, it } from 'vitest';
import type { InstanceState } from '@stack/emulator';
import { formatStartSummary, formatStatus } from './format.js';

const state = (over: Partial<InstanceState>): InstanceState => ({
  version: 1,
  pid: 1,
  pidStartTime: '1',
  arch: 'amd64',
  accel: 'tcg',
  accelReason: '',
  mode: 'resumed',
  image: '/i.qcow2',
  ports: { dashboard: 26700, backend: 26701, minio: 26702, inbucket: 26703, mockOauth: 26704 },
  portPrefix: '81',
  rotated: true,
  secrets: 'fresh',
  startedAt: '2026-12-01T00:00:00.000Z',
  timings: {},
  ...over,
});

describe('the start summary', () => {
  it("tells a first start's one-time work (building the image, capturing the snapshot) apart from the start itself", () => {
    const first = formatStartSummary(
      state({ timings: { imageReady: 345_000, probed: 345_100, captured: 379_650, healthy: 380_850 } }),
      false,
      '/pck',
    ).split('\n')[0];
    expect(first).toBe(
      'Emulator resumed from a snapshot in 1.20s (tcg), after 345.00s preparing the image and 34.65s capturing its snapshot (once).',
    );
  });

  it('names a named instance and reads as before for the default one', () => {
    const s = state({ mode: 'session', timings: { probed: 40, healthy: 500 } });
    expect(formatStartSummary(s, false, '/pck', 'ci-1').split('\n')[0]).toBe(
      'Instance ci-1 resumed the saved session in 0.50s (tcg).',
    );
    expect(formatStartSummary(s, true, '/pck', 'ci-1').split('\n')[0]).toMatch(/^Instance ci-1 already running/);
    expect(formatStartSummary(s, false, '/pck', 'default')).toBe(formatStartSummary(s, false, '/pck'));
  });

  it('says only the start when there was nothing else', () => {
    expect(
      formatStartSummary(state({ mode: 'session', timings: { probed: 40, healthy: 500 } }), false, '/pck').split(
        '\n',
      )[0],
    ).toBe('Emulator resumed the saved session in 0.50s (tcg).');
  });
});

describe('the status', () => {
  it('names a named instance first, and reads as before for the default one', () => {
    const stopped = { vm: 'stopped' as const, healthy: false, services: [] };
    expect(formatStatus({ name: 'default', ...stopped })).toBe('VM: ○ stopped');
    expect(formatStatus({ name: 'ci-1', ...stopped })).toBe('Instance: ci-1\nVM: ○ stopped');
  });
});
