import type { InstancesResult } from './instances-result.js';

/** "214 MiB": a size in KiB, to the nearest MiB. */
export const mib = (kib: number) => `${Math.round(kib / 1024)} MiB`;

/**
 * An instances scenario's lines under its median: each start's own time, how many templates the
 * starts resumed, and the QEMUs' memory summed (PSS, its shared and private parts, RSS), against one
 * alone. "  each start: median 1.90 s, slowest 2.05 s; 1 snapshot resumed\n  memory of 4 QEMUs: ..."
 */
export function formatInstances(r: InstancesResult): string {
  const { startMs, memory } = r;
  const ids = r.snapshotIds.length;
  const lines = [
    `  each start: median ${(startMs.median / 1000).toFixed(2)} s, slowest ${(startMs.slowest / 1000).toFixed(2)} s; ${ids} snapshot${ids === 1 ? '' : 's'} resumed`,
  ];
  if (memory.kind === 'unsupported') lines.push(`  memory: unsupported (${memory.reason})`);
  else {
    const t = memory.total;
    const ratio =
      memory.pssRatioToAlone !== undefined && memory.alonePssKiB !== undefined
        ? `; ${memory.pssRatioToAlone.toFixed(2)}× one alone (${mib(memory.alonePssKiB)})`
        : '';
    lines.push(
      `  memory of ${r.count} QEMU${r.count === 1 ? '' : 's'}: PSS ${mib(t.pssKiB)} = shared ${mib(t.sharedPssKiB)} + private ${mib(t.privateKiB)} (RSS ${mib(t.rssKiB)})${ratio}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
