import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIso } from '@stack/iso9660';
import { exec, QgaClient } from '@stack/qga-protocol';
import { buildArgv, defaultCpuCount } from '@stack/qemu-argv';
import { testPortBase } from '../../../tools/testing/ports.js';
import { type BootFiles, UEFI_FIRMWARE } from '../src/index.js';

export interface BootedVm {
  dir: string;
  ports: { dashboard: number; backend: number; minio: number; inbucket: number };
  agentSocket: string;
  qemu: ChildProcess;
  dispose(): void;
}

/**
 * Boots an appliance image on a fresh overlay (or on `disk`, an overlay the caller keeps, to boot it
 * again) with a plain command line in the contract's layout: its kernel directly when `boot` is given
 * (as the emulator does), else through UEFI firmware.
 */
export async function bootAppliance(
  image: string,
  options: { layout: 'cold' | 'snapshot'; accel?: 'kvm' | 'tcg'; cpus?: number; boot?: BootFiles; disk?: string },
): Promise<BootedVm> {
  const accel = options.accel ?? 'tcg';
  const dir = mkdtempSync(join(tmpdir(), 'boot-'));
  const base = testPortBase(4);
  const ports = { dashboard: base, backend: base + 1, minio: base + 2, inbucket: base + 3 };
  const overlay = options.disk ?? join(dir, 'disk.qcow2');
  if (!options.disk) execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image, '-F', 'qcow2', overlay]);
  for (const f of ['seed.phantom', 'bundle.phantom']) writeFileSync(join(dir, f), Buffer.alloc(1 << 20));
  const runtime = 'STACK_EMULATOR_PORT_PREFIX=81\nSTACK_EMULATOR_VM_DIR_HOST=\n';
  writeFileSync(
    join(dir, 'config.iso'),
    await buildIso(
      [
        { type: 'file', path: 'runtime.env', data: runtime },
        { type: 'file', path: 'base.env', data: '' },
      ],
      { volumeId: 'STACKCFG' },
    ),
  );
  const agentSocket = join(dir, 'qga.sock');
  const { binary, argv } = buildArgv({
    arch: 'amd64',
    accel,
    memoryMiB: 4096,
    cpus: options.cpus ?? defaultCpuCount(accel),
    layout: options.layout,
    ...(options.boot ? { kernel: options.boot } : { firmware: UEFI_FIRMWARE.amd64[0] }),
    drives: {
      system: overlay,
      seed: join(dir, 'seed.phantom'),
      bundle: join(dir, 'bundle.phantom'),
      config: join(dir, 'config.iso'),
    },
    forwards: [
      { name: 'dashboard', hostPort: ports.dashboard, guestPort: 8101 },
      { name: 'backend', hostPort: ports.backend, guestPort: 8102 },
      { name: 'minio', hostPort: ports.minio, guestPort: 9090 },
      { name: 'inbucket', hostPort: ports.inbucket, guestPort: 9001 },
    ],
    qmpSocket: join(dir, 'qmp.sock'),
    agentSocket,
    serialLog: join(dir, 'serial.log'),
  });
  const qemu = spawn(binary, argv, { stdio: 'ignore' });
  return {
    dir,
    ports,
    agentSocket,
    qemu,
    dispose() {
      qemu.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The status of one GET, or the reason there was none (refused, reset, or no answer within `timeout`
 * ms): a single-shot check fails saying which, instead of comparing a 0 with 200.
 */
export function httpStatus(
  port: number,
  path: string,
  { headers = {}, timeout = 1000 }: { headers?: Record<string, string>; timeout?: number } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, timeout }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET :${port}${path}: no answer within ${timeout} ms`)));
    req.end();
  });
}

/** The four health probes of the guest contract, all at once. */
export async function allHealthy(ports: BootedVm['ports']): Promise<boolean> {
  // Polled: a probe that does not answer yet is simply not healthy yet.
  const probe = (port: number, path: string) => httpStatus(port, path).catch(() => 0);
  const codes = await Promise.all([
    probe(ports.dashboard, '/handler/sign-in'),
    probe(ports.backend, '/health?db=1'),
    probe(ports.minio, '/minio/health/live'),
    probe(ports.inbucket, '/'),
  ]);
  return codes.every((c) => c === 200);
}

/**
 * What the guest says about itself when a wait fails: its failed units and the journal of the units
 * behind the health probes (through the agent), then the last console lines. Best effort: a guest
 * whose agent is down still gives its console.
 */
export async function guestDiagnostics(vm: BootedVm): Promise<string> {
  const parts: string[] = [];
  try {
    await using qga = await QgaClient.connect(vm.agentSocket, { timeout: 10_000 });
    await qga.sync({ timeout: 20_000 });
    const script =
      'systemctl --failed --no-legend --no-pager; systemctl list-jobs --no-pager; journalctl -b --no-pager -n 40 -u stack-reference -u stack-config -u "postgresql@*"';
    const r = await exec(qga, { path: '/bin/sh', args: ['-c', script], timeout: 30_000 });
    parts.push(`guest (exit ${r.exitCode}):\n${r.stdout.toString()}${r.stderr.toString()}`);
  } catch (error) {
    parts.push(`guest agent unavailable: ${(error as Error).message}`);
  }
  try {
    parts.push(`console tail:\n${readFileSync(join(vm.dir, 'serial.log'), 'utf8').split('\n').slice(-30).join('\n')}`);
  } catch (error) {
    parts.push(`no console log: ${(error as Error).message}`);
  }
  return parts.join('\n');
}

export async function until(what: string, f: () => Promise<boolean>, ms: number, every = 250): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`${what} not reached within ${ms} ms`);
}
