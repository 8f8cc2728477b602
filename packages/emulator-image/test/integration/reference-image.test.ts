import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIso } from '@stack/iso9660';
import { QgaClient } from '@stack/qga-protocol';
import { buildArgv } from '@stack/qemu-argv';
import { PLACEHOLDERS, rotateSecrets } from '@stack/secret-rotation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../../tools/testing/requires.js';
import { ensureApplianceImage, UEFI_FIRMWARE } from '../../src/index.js';

// Builds (or reuses from the cache) the reference appliance, then boots it with a plain QEMU command
// line in the contract's snapshot layout. Under TCG here (this host's KVM cannot run a stock kernel).
const ok = hasTools('debootstrap', 'qemu-system-x86_64', 'qemu-img', 'mkfs.vfat', 'mcopy', 'sfdisk', 'zstd');
const reference = new URL('../../../../images/reference', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'refimg-'));
const base = 41000 + Math.floor(Math.random() * 2000);
const ports = { dashboard: base, backend: base + 1, minio: base + 2, inbucket: base + 3 };
let qemu: ChildProcess | undefined;

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, headers, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function until(what: string, f: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} not reached within ${ms} ms`);
}

const current = (key: string) => get(ports.backend, '/api/v1/projects/current', { 'x-stack-project-id': 'internal', 'x-stack-publishable-client-key': key });

describe.skipIf(!ok)('the reference appliance image', () => {
  beforeAll(async () => {
    const { image } = await ensureApplianceImage({ applianceDir: reference, arch: 'amd64', name: 'reference' });
    const overlay = join(work, 'disk.qcow2');
    await new Promise((r, j) => spawn('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image, '-F', 'qcow2', overlay]).on('exit', (c) => (c === 0 ? r(0) : j(new Error('qemu-img')))));
    for (const f of ['seed.phantom', 'bundle.phantom']) writeFileSync(join(work, f), Buffer.alloc(1 << 20));
    writeFileSync(join(work, 'config.iso'), await buildIso([{ type: 'file', path: 'runtime.env', data: 'STACK_EMULATOR_PORT_PREFIX=81\nSTACK_EMULATOR_VM_DIR_HOST=\n' }, { type: 'file', path: 'base.env', data: '' }], { volumeId: 'STACKCFG' }));
    const { binary, argv } = buildArgv({
      arch: 'amd64', accel: 'tcg', memoryMiB: 4096, cpus: 4, layout: 'snapshot', firmware: UEFI_FIRMWARE.amd64[0],
      drives: { system: overlay, seed: join(work, 'seed.phantom'), bundle: join(work, 'bundle.phantom'), config: join(work, 'config.iso') },
      forwards: [
        { name: 'dashboard', hostPort: ports.dashboard, guestPort: 8101 },
        { name: 'backend', hostPort: ports.backend, guestPort: 8102 },
        { name: 'minio', hostPort: ports.minio, guestPort: 9090 },
        { name: 'inbucket', hostPort: ports.inbucket, guestPort: 9001 },
      ],
      qmpSocket: join(work, 'qmp.sock'), agentSocket: join(work, 'qga.sock'), serialLog: join(work, 'serial.log'),
    });
    qemu = spawn(binary, argv, { stdio: 'ignore' });
  }, 1_500_000);
  afterAll(() => {
    qemu?.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });

  it('answers all four health probes with 200 after a cold boot', async () => {
    await until('all services healthy', async () => {
      const codes = await Promise.all([get(ports.dashboard, '/handler/sign-in'), get(ports.backend, '/health?db=1'), get(ports.minio, '/minio/health/live'), get(ports.inbucket, '/')]);
      return codes.every((c) => c === 200);
    }, 240_000);
  });

  it('answers guest-sync through the agent', async () => {
    await using qga = await QgaClient.connect(join(work, 'qga.sock'));
    await qga.sync({ timeout: 30_000 });
    expect(qga.synced).toBe(true);
  });

  it('accepts only the current publishable key, and trigger-fast-rotate changes it', async () => {
    expect(await current(PLACEHOLDERS.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY)).toBe(200);
    await using qga = await QgaClient.connect(join(work, 'qga.sock'));
    const secrets = await rotateSecrets(qga, { timeout: 60_000 });
    expect(await current(secrets.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY)).toBe(200);
    expect(await current(PLACEHOLDERS.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY)).toBe(401);
    expect(await current('f'.repeat(64))).toBe(401);
  });
});
