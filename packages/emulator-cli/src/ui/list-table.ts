import type { InstanceSummary } from '@stack/emulator';

const mib = (kib: number | undefined) => (kib === undefined ? '-' : `${Math.round(kib / 1024)} MiB`);

function bytes(n: number): string {
  if (n === 0) return '-';
  if (n < 1048576) return `${Math.max(1, Math.round(n / 1024))} KiB`;
  if (n < 1073741824) return `${Math.round(n / 1048576)} MiB`;
  return `${(n / 1073741824).toFixed(1)} GiB`;
}

function uptime(ms: number | undefined): string {
  if (ms === undefined) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `list` as a table: one row per instance, the backend and dashboard ports, memory in MiB. */
export function formatList(all: readonly InstanceSummary[]): string {
  const head = ['NAME', 'STATE', 'MODE', 'PORTS', 'BACKEND', 'DASHBOARD', 'PID', 'UPTIME', 'SESSION', 'RSS', 'PSS'];
  const rows = all.map((i) => [
    i.name,
    i.state,
    i.mode ?? '-',
    i.portsMode,
    i.ports ? String(i.ports.backend) : '-',
    i.ports ? String(i.ports.dashboard) : '-',
    i.pid === undefined ? '-' : String(i.pid),
    uptime(i.uptimeMs),
    bytes(i.sessionBytes),
    mib(i.memory?.rssKiB),
    mib(i.memory?.pssKiB),
  ]);
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  return [head, ...rows]
    .map((r) =>
      r
        .map((c, k) => c.padEnd(widths[k]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
