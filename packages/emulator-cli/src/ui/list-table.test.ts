import type { InstanceSummary } from '@stack/emulator';
import { describe, expect, it } from 'vitest';
import { formatList } from './list-table.js';

const ports = { dashboard: 27000, backend: 27001, minio: 27002, inbucket: 27003, mockOauth: 27004 };

describe('formatList', () => {
  it('prints one aligned row per instance, dashes where a figure is unknown', () => {
    const all: InstanceSummary[] = [
      {
        name: 'default',
        state: 'stopped',
        mode: undefined,
        portsMode: 'fixed',
        ports: undefined,
        pid: undefined,
        uptimeMs: undefined,
        sessionBytes: 0,
        memory: undefined,
      },
      {
        name: 'ci-1',
        state: 'running',
        mode: 'resumed',
        portsMode: 'auto',
        ports,
        pid: 4242,
        uptimeMs: 3_723_000,
        sessionBytes: 3 * 1073741824,
        memory: { rssKiB: 600 * 1024, pssKiB: 214 * 1024 },
      },
    ];
    const lines = formatList(all).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^NAME\s+STATE\s+MODE\s+PORTS\s+BACKEND\s+DASHBOARD\s+PID\s+UPTIME\s+SESSION\s+RSS\s+PSS$/,
    );
    expect(lines[1]!.split(/\s+/)).toEqual(['default', 'stopped', '-', 'fixed', '-', '-', '-', '-', '-', '-', '-']);
    expect(lines[2]!.split(/\s+/).join(' ')).toBe(
      'ci-1 running resumed auto 27001 27000 4242 1h02m 3.0 GiB 600 MiB 214 MiB',
    );
    expect(lines[1]!.indexOf('stopped')).toBe(lines[2]!.indexOf('running'));
  });
});
