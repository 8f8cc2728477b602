import { formatBytes, type Progress } from '@stack/release-fetcher';

const duration = (s: number) => {
  const r = Math.round(s);
  if (r < 60) return `${r}s`;
  if (r < 3600) return `${Math.floor(r / 60)}m${String(r % 60).padStart(2, '0')}s`;
  return `${Math.floor(r / 3600)}h${String(Math.floor((r % 3600) / 60)).padStart(2, '0')}m`;
};

/** "[█████░░░░░] 42.0%  1.2 GB/3.0 GB  110 MB/s  eta 16s" */
function progressLine(p: Progress, width = 30): string {
  const frac = p.total ? Math.min(1, p.bytes / p.total) : undefined;
  const bar =
    frac === undefined
      ? ''
      : `[${'█'.repeat(Math.round(frac * width))}${'░'.repeat(width - Math.round(frac * width))}] ${(frac * 100).toFixed(1).padStart(5)}%  `;
  const size = p.total ? `${formatBytes(p.bytes)}/${formatBytes(p.total)}` : formatBytes(p.bytes);
  const eta = p.etaSeconds !== undefined && !p.done ? `  eta ${duration(p.etaSeconds)}` : '';
  return `${bar}${size}  ${formatBytes(p.bytesPerSecond)}/s${eta}`;
}

/** A redrawn bar on a TTY; otherwise a line every 10 % (or every 5 s without a total) and at the end. */
export function progressRenderer(
  stream: NodeJS.WriteStream = process.stderr,
  tty = stream.isTTY === true && (stream.columns ?? 0) > 0 && !process.env.CI,
): (p: Progress) => void {
  let lastTenth = -1;
  let lastLine = 0;
  return (p) => {
    if (tty) {
      stream.write(`\r\x1b[2K  ${progressLine(p)}${p.done ? '\n' : ''}`);
      return;
    }
    const tenth = p.total ? Math.floor((p.bytes / p.total) * 10) : -1;
    const due = p.total ? tenth > lastTenth : Date.now() - lastLine >= 5000;
    if (!due && !p.done) return;
    lastTenth = tenth;
    lastLine = Date.now();
    stream.write(`  ${progressLine(p)}\n`);
  };
}
