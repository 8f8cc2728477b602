// Median round trip of query-status on one persistent connection, against a socat-per-command client
// shaped like the tool we replace: a new connection and qmp_capabilities per command. The original
// also holds stdin open 0.3 s per command; both variants of the per-command client are measured.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { median, writeBenchResult } from '../../../tools/testing/bench.js';
import { startMachineNone } from '../../../tools/testing/qemu.js';
import { QmpClient, queryStatus } from '../src/index.js';

const payload = '{"execute":"qmp_capabilities"}\n{"execute":"query-status"}\n';

function socatOnce(path: string, holdSeconds: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const script =
      holdSeconds > 0
        ? `(printf '%s'; sleep ${holdSeconds}) | socat -t5 - UNIX-CONNECT:${path}`
        : `printf '%s' | socat -t5 - UNIX-CONNECT:${path}`;
    // Without the hold, socat closes the write side at EOF and waits up to -t for the reply; stop at
    // the reply like a careful per-command client would.
    const child = spawn('sh', ['-c', script.replace('%s', payload.replace(/\n/g, '\\n'))], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (holdSeconds === 0 && out.includes('"status"')) child.kill();
    });
    child.on('error', reject);
    child.on('exit', () =>
      out.includes('"status"') ? resolve(performance.now() - t0) : reject(new Error(`no reply: ${out}`)),
    );
  });
}

const vm = await startMachineNone();
try {
  const qmp = await QmpClient.connect(vm.qmpPath);
  for (let i = 0; i < 200; i++) await queryStatus(qmp); // warm up
  const persistent: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    await queryStatus(qmp);
    persistent.push(performance.now() - t0);
  }
  await qmp.close();
  const perCommand: number[] = [];
  for (let i = 0; i < 30; i++) perCommand.push(await socatOnce(vm.qmpPath, 0));
  const original: number[] = [];
  for (let i = 0; i < 7; i++) original.push(await socatOnce(vm.qmpPath, 0.3));
  const r = {
    persistentMedianMs: median(persistent),
    socatPerCommandMedianMs: median(perCommand),
    socatOriginalMedianMs: median(original),
    runs: { persistent: persistent.length, perCommand: perCommand.length, original: original.length },
  };
  const ratioPerCommand = r.socatPerCommandMedianMs / r.persistentMedianMs;
  const ratioOriginal = r.socatOriginalMedianMs / r.persistentMedianMs;
  console.log(`query-status round trip, median:`);
  console.log(
    `  persistent connection (@stack/qmp-protocol): ${r.persistentMedianMs.toFixed(3)} ms (n=${persistent.length})`,
  );
  console.log(
    `  socat per command, stop at reply:           ${r.socatPerCommandMedianMs.toFixed(1)} ms (n=${perCommand.length}) -> ${ratioPerCommand.toFixed(0)}x`,
  );
  console.log(
    `  socat per command, original 0.3 s hold:     ${r.socatOriginalMedianMs.toFixed(1)} ms (n=${original.length}) -> ${ratioOriginal.toFixed(0)}x`,
  );
  // The target compares against the original's client (socat per command, 0.3 s hold).
  console.log(
    `  target (median < 1 ms, >= 100x the original's client): ${r.persistentMedianMs < 1 && ratioOriginal >= 100 ? 'met' : 'NOT met'}`,
  );
  console.log(`  written: ${writeBenchResult('qmp-round-trip', { ...r, ratioPerCommand, ratioOriginal })}`);
} finally {
  await vm.dispose();
}
