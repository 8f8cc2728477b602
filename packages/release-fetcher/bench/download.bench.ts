// Downloads the same 1 GiB file over HTTPS (a CA made here, trusted through NODE_EXTRA_CA_CERTS) and
// over HTTP from a loopback server, with `stack-emulator pull --url` (stream, sha256, fsync, verify,
// rename), with `curl -o`, and with `curl -o && sha256sum` (verified by hand), alternating, BENCH_RUNS
// times each (default 5). Prints medians, ratios and CPU seconds per GiB (user + system of the
// process tree, from the shell's `times`). Writes tmp/bench/download.json.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, writeBenchResult } from '../../../tools/testing/bench.js';
import { makeTestCa } from '../../../tools/testing/tls-ca.js';

const SIZE = 1024 ** 3;
const runs = Number(process.env.BENCH_RUNS ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'dl-bench-'));
// Served from memory: a server streaming from a file would compete with the client for this host's
// cores (2 here). A real server is on another host.
const image = Buffer.allocUnsafe(SIZE);
const block = randomBytes(8 << 20);
for (let off = 0; off < SIZE; off += block.length) {
  block.writeUInt32LE(off / block.length, 0); // no two blocks alike
  block.copy(image, off);
}
const digest = createHash('sha256').update(image).digest('hex');
const ca = makeTestCa();

const handler = (req: IncomingMessage, res: ServerResponse) => {
  if (req.url === '/image.qcow2.sha256') return res.end(`${digest}  image.qcow2\n`);
  if (req.url !== '/image.qcow2') return res.writeHead(404).end();
  res.writeHead(200, { 'content-length': String(SIZE), etag: '"bench"' });
  res.end(image);
};
const http = createServer(handler);
const https = createHttpsServer({ key: ca.key, cert: ca.cert }, handler);
await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
const urls = {
  http: `http://127.0.0.1:${(http.address() as AddressInfo).port}/image.qcow2`,
  https: `https://127.0.0.1:${(https.address() as AddressInfo).port}/image.qcow2`,
};
const bin = join(import.meta.dirname, '..', '..', 'emulator-cli', 'dist', 'cli.js'); // the published bin (bundled)

interface Timing {
  wall: number;
  cpu: number;
}

/** Wall time and CPU (user + system of every child) of a shell command; the servers run in this process. */
function timed(script: string, env: NodeJS.ProcessEnv = process.env): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('sh', ['-c', `${script}\ntimes`], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const wall = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`${script} exited ${code}`));
      // `times`: the shell's own user/system, then its children's ("0m1.234s 0m0.456s").
      const secs = (t: string) => {
        const m = /(\d+)m([\d.]+)s/.exec(t)!;
        return Number(m[1]) * 60 + Number(m[2]);
      };
      const lines = out.trim().split('\n').slice(-2);
      const cpu = lines.flatMap((l) => l.trim().split(/\s+/)).reduce((a, t) => a + secs(t), 0);
      resolve({ wall, cpu });
    });
  });
}

type Scheme = keyof typeof urls;
const results: Record<Scheme, Record<'pull' | 'curl' | 'curlSha', Timing[]>> = {
  https: { pull: [], curl: [], curlSha: [] },
  http: { pull: [], curl: [], curlSha: [] },
};
try {
  for (let i = 0; i < runs; i++) {
    for (const scheme of ['https', 'http'] as const) {
      const url = urls[scheme];
      const home = join(dir, `home-${i}`);
      // Plain http needs the digest given (anyone on the path could change a sidecar too).
      const shaFlag = scheme === 'http' ? ` --sha256 ${digest}` : '';
      const env = { ...process.env, STACK_EMULATOR_HOME: home, CI: '1', NODE_EXTRA_CA_CERTS: ca.caFile };
      results[scheme].pull.push(
        await timed(
          `"${process.execPath}" "${bin}" pull --url ${url}${shaFlag} --skip-snapshot --arch amd64 >/dev/null`,
          env,
        ),
      );
      if (statSync(join(home, 'images', 'stack-emulator-amd64.qcow2')).size !== SIZE)
        throw new Error('pull wrote the wrong size');
      rmSync(home, { recursive: true, force: true });
      const out = join(dir, 'curl.out');
      const curl = `curl -sS -f --cacert ${ca.caFile} -o ${out} ${url}`;
      results[scheme].curl.push(await timed(curl));
      rmSync(out, { force: true });
      results[scheme].curlSha.push(await timed(`${curl} && sha256sum ${out} >/dev/null`));
      rmSync(out, { force: true });
    }
  }
} finally {
  http.close();
  https.close();
  ca.close();
  rmSync(dir, { recursive: true, force: true });
}

const gib = SIZE / 1024 ** 3;
const summary: Record<string, unknown> = { sizeBytes: SIZE, runs };
for (const scheme of ['https', 'http'] as const) {
  const r = results[scheme];
  const m = (t: Timing[], k: keyof Timing) => median(t.map((x) => x[k]));
  const pull = m(r.pull, 'wall');
  const curl = m(r.curl, 'wall');
  const curlSha = m(r.curlSha, 'wall');
  process.stdout.write(`${scheme.toUpperCase()}\n`);
  process.stdout.write(
    `  stack-emulator pull --url: median ${pull.toFixed(2)} s, ${(m(r.pull, 'cpu') / gib).toFixed(2)} CPU s/GiB\n`,
  );
  process.stdout.write(
    `  curl -o:                   median ${curl.toFixed(2)} s, ${(m(r.curl, 'cpu') / gib).toFixed(2)} CPU s/GiB\n`,
  );
  process.stdout.write(
    `  curl -o && sha256sum:      median ${curlSha.toFixed(2)} s, ${(m(r.curlSha, 'cpu') / gib).toFixed(2)} CPU s/GiB\n`,
  );
  process.stdout.write(
    `  pull speed vs curl -o: ${(curl / pull).toFixed(2)}x (target >= 0.7x over HTTPS); vs curl -o && sha256sum: ${(curlSha / pull).toFixed(2)}x (target > 1x)\n`,
  );
  summary[scheme] = {
    pullSeconds: r.pull.map((t) => t.wall),
    curlSeconds: r.curl.map((t) => t.wall),
    curlSha256Seconds: r.curlSha.map((t) => t.wall),
    pullMedian: pull,
    curlMedian: curl,
    curlSha256Median: curlSha,
    pullCpuPerGiB: m(r.pull, 'cpu') / gib,
    curlCpuPerGiB: m(r.curl, 'cpu') / gib,
    curlSha256CpuPerGiB: m(r.curlSha, 'cpu') / gib,
    speedVsCurl: curl / pull,
    speedVsCurlSha256: curlSha / pull,
  };
}
process.stdout.write(`written ${writeBenchResult('download', summary)}\n`);
