// Writes the same 1 GiB tree with `iso9660 create` and with `genisoimage -J -R`, prints the median
// times, the ratio and our peak RSS, and writes them as JSON. Target: no slower than genisoimage.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, writeBenchResult } from '../../../tools/testing/bench.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const work = mkdtempSync(join(tmpdir(), 'iso-bench-'));
const src = join(work, 'tree');
// 1 GiB: a few large files (like a bundle disk) and many small ones (like a config tree).
mkdirSync(src);
const big = Buffer.alloc(64 << 20);
for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE((i * 2654435761) >>> 0, i);
for (let i = 0; i < 15; i++) writeFileSync(join(src, `blob-${i}.bin`), big);
const small = join(src, 'small');
mkdirSync(small);
for (let i = 0; i < 4096; i++) writeFileSync(join(small, `f-${i}.txt`), big.subarray(i * 16384, i * 16384 + 16384));
execFileSync('sync');

const bin = new URL('../dist/cli.js', import.meta.url).pathname;

const a = join(work, 'ours.iso');
const b = join(work, 'gen.iso');

/** Wall time of a command, started after `sync` so no earlier run's dirty pages are flushed on its clock. */
function wall(cmd: string, args: string[]): number {
  // A fresh output name each time: renaming over an existing file makes ext4 flush the new data at
  // rename time (auto_da_alloc), which would put a hidden fsync in some runs and not in others.
  rmSync(a, { force: true });
  rmSync(b, { force: true });
  // Deleting 1 GiB files leaves a large journal transaction; an fsync in the next run would pay for
  // committing it. Flush and let the journal settle before the clock starts.
  execFileSync('sync');
  execFileSync('sleep', ['1']);
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

// Our CLI fsyncs the image before renaming it into place (it must never leave a half-written image);
// genisoimage does neither, so it is timed plain and followed by an fsync of its output.
const ours: number[] = [];
const oursNoSync: number[] = [];
const gen: number[] = [];
const genSynced: number[] = [];
let peakRss = 0;
const variants: Array<() => void> = [
  () => ours.push(wall(process.execPath, [bin, 'create', src, '-o', a, '-V', 'BENCH', '--rock-ridge'])),
  () =>
    oursNoSync.push(wall(process.execPath, [bin, 'create', src, '-o', a, '-V', 'BENCH', '--rock-ridge', '--no-fsync'])),
  () => gen.push(wall('genisoimage', ['-quiet', '-J', '-R', '-V', 'BENCH', '-o', b, src])),
  () => genSynced.push(wall('sh', ['-c', `genisoimage -quiet -J -R -V BENCH -o '${b}' '${src}' && sync '${b}'`])),
];
for (let i = 0; i < RUNS; i++) {
  // Rotate the order so no variant always follows the same one.
  for (let k = 0; k < variants.length; k++) variants[(i + k) % variants.length]!();
}
rmSync(a, { force: true });
rmSync(b, { force: true });
// Peak RSS of one more run of ours, read from inside the process (no GNU time needed).
const rss = spawnSync(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    `
  const { writeIso, entriesFromDirectory } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
  await writeIso(await entriesFromDirectory(${JSON.stringify(src)}), ${JSON.stringify(a)}, { volumeId: 'BENCH', rockRidge: true });
  process.stdout.write(String(process.resourceUsage().maxRSS));`,
  ],
  { encoding: 'utf8' },
);
peakRss = Number(rss.stdout.trim()) * 1024;
rmSync(work, { recursive: true, force: true });
const r = {
  oursMedianS: median(ours),
  oursNoFsyncMedianS: median(oursNoSync),
  genisoimageMedianS: median(gen),
  genisoimageFsyncMedianS: median(genSynced),
  peakRssBytes: peakRss,
  runs: RUNS,
  treeBytes: 15 * (64 << 20) + 4096 * 16384,
  samples: { ours, oursNoSync, gen, genSynced },
};
const ratio = r.oursMedianS / r.genisoimageFsyncMedianS;
const ratioNoSync = r.oursNoFsyncMedianS / r.genisoimageMedianS;
console.log(`1 GiB tree (15 x 64 MiB + 4096 x 16 KiB), median of ${RUNS} interleaved runs:`);
console.log(
  `  iso9660 create --rock-ridge (fsync + rename): ${r.oursMedianS.toFixed(2)} s, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
);
console.log(`  genisoimage -J -R + fsync of its output:      ${r.genisoimageFsyncMedianS.toFixed(2)} s`);
console.log(`  iso9660 create --rock-ridge --no-fsync:       ${r.oursNoFsyncMedianS.toFixed(2)} s`);
console.log(`  genisoimage -J -R (no fsync):                 ${r.genisoimageMedianS.toFixed(2)} s`);
console.log(
  `  ratio with fsync (ours / genisoimage+fsync): ${ratio.toFixed(2)};  without (ours --no-fsync / genisoimage): ${ratioNoSync.toFixed(2)}`,
);
console.log(
  `  target (no slower than genisoimage, ratio <= 1.0): ${ratio <= 1 && ratioNoSync <= 1 ? 'met' : 'NOT met'}`,
);
console.log(`  written: ${writeBenchResult('iso9660-create', { ...r, ratio, ratioNoSync })}`);
