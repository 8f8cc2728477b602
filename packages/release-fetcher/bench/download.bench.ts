// Downloads the same 1 GiB file from a loopback HTTP server with `stack-emulator pull --url` (stream,
// sha256, fsync, verify, rename), with `curl -o`, with `curl -o && sync -f` (durable) and with
// `curl -o && sha256sum` (verified), alternating, BENCH_RUNS times each (default 5),
// and prints both medians, the ratio and the throughputs. Writes tmp/bench/download.json.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, writeBenchResult } from '../../../tools/testing/bench.js';

const SIZE = 1024 ** 3;
const runs = Number(process.env.BENCH_RUNS ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'dl-bench-'));
// The image is served from memory. The server shares this host's cores with the client (2 here): a
// server streaming from a file (createReadStream().pipe(res)) used 0.8 s of CPU per GiB allocating a
// fresh buffer for every read, so it measured the server and penalised a client that uses more than
// one thread. A real server is on another host.
const image = Buffer.allocUnsafe(SIZE);
const block = randomBytes(8 << 20);
for (let off = 0; off < SIZE; off += block.length) {
  block.writeUInt32LE(off / block.length, 0); // no two blocks alike
  block.copy(image, off);
}
const digest = createHash('sha256').update(image).digest('hex');

const server = createServer((req, res) => {
  if (req.url === '/image.qcow2.sha256') return res.end(`${digest}  image.qcow2\n`);
  if (req.url !== '/image.qcow2') return res.writeHead(404).end();
  res.writeHead(200, { 'content-length': String(SIZE), etag: '"bench"' });
  res.end(image);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/image.qcow2`;
const bin = join(import.meta.dirname, '..', '..', 'emulator-cli', 'dist', 'cli.js'); // the published bin (bundled)

/** Wall time of a child process; the server keeps running in this one. */
function timeAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`${cmd} exited ${code}`))));
  });
}

const ours: number[] = [];
const curl: number[] = [];
const curlSync: number[] = [];
const curlSha: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const home = join(dir, `home-${i}`);
    ours.push(await timeAsync(process.execPath, [bin, 'pull', '--url', url, '--skip-snapshot', '--arch', 'amd64'], { ...process.env, STACK_EMULATOR_HOME: home, CI: '1' }));
    if (statSync(join(home, 'images', 'stack-emulator-amd64.qcow2')).size !== SIZE) throw new Error('pull wrote the wrong size');
    rmSync(home, { recursive: true, force: true });
    const out = join(dir, 'curl.out');
    curl.push(await timeAsync('curl', ['-sS', '-f', '-o', out, url]));
    rmSync(out, { force: true });
    // The same with the data made durable, as pull does before it renames the image into place.
    curlSync.push(await timeAsync('sh', ['-c', `curl -sS -f -o ${out} ${url} && sync -f ${out}`]));
    rmSync(out, { force: true });
    // The same with the digest checked, as pull does.
    curlSha.push(await timeAsync('sh', ['-c', `curl -sS -f -o ${out} ${url} && sha256sum ${out} >/dev/null`]));
    rmSync(out, { force: true });
  }
} finally {
  server.close();
  rmSync(dir, { recursive: true, force: true });
}

const mOurs = median(ours);
const mCurl = median(curl);
const mCurlSync = median(curlSync);
const mCurlSha = median(curlSha);
const mib = SIZE / 1024 ** 2;
process.stdout.write(`stack-emulator pull --url: median ${mOurs.toFixed(2)} s (${(mib / mOurs).toFixed(0)} MiB/s)\n`);
process.stdout.write(`curl -o:                   median ${mCurl.toFixed(2)} s (${(mib / mCurl).toFixed(0)} MiB/s)\n`);
process.stdout.write(`curl -o && sync -f:        median ${mCurlSync.toFixed(2)} s (${(mib / mCurlSync).toFixed(0)} MiB/s)\n`);
process.stdout.write(`curl -o && sha256sum:      median ${mCurlSha.toFixed(2)} s (${(mib / mCurlSha).toFixed(0)} MiB/s)\n`);
process.stdout.write(`throughput ours/curl: ${((mCurl / mOurs) * 100).toFixed(0)}% (target >= 90%); ours/(curl + sync): ${((mCurlSync / mOurs) * 100).toFixed(0)}%; ours/(curl + sha256sum): ${((mCurlSha / mOurs) * 100).toFixed(0)}%\n`);
const out = writeBenchResult('download', { sizeBytes: SIZE, runs, oursSeconds: ours, curlSeconds: curl, curlSyncSeconds: curlSync, curlSha256Seconds: curlSha, oursMedian: mOurs, curlMedian: mCurl, curlSyncMedian: mCurlSync, curlSha256Median: mCurlSha, throughputRatio: mCurl / mOurs, durableThroughputRatio: mCurlSync / mOurs, verifiedThroughputRatio: mCurlSha / mOurs });
process.stdout.write(`written ${out}\n`);
