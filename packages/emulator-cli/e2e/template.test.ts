import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { socketDirFor } from '@stack/qemu-argv';
import { exec, QgaClient } from '@stack/qga-protocol';
import { cont, migrateIncoming, QmpClient, queryStatus, quit, setMigrationCapabilities } from '@stack/qmp-protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { waitForPath } from '../../../tools/testing/qemu.js';
import { hasTools } from '../../../tools/testing/requires.js';
import { cli, PLACEHOLDER_KEY, testInstance } from './cli-harness.js';

// Template snapshots (format template-ram): the guest's RAM lives in a file that the capture's VM
// wrote through a shared mapping, and every resume maps it privately (copy-on-write). The file must
// never change, however many VMs run on it at once. Ephemeral: the golden snapshot at every start.
const ok = hasTools('qemu-system-x86_64', 'qemu-img', 'zstd', 'debootstrap', 'mkfs.vfat', 'mcopy', 'sfdisk');
const emu = testInstance({ env: { EMULATOR_EPHEMERAL: '1' } });
const T = 900_000;
const work = mkdtempSync(join(tmpdir(), 'template-e2e-'));
let second: ChildProcess | undefined;
afterAll(async () => {
  second?.kill('SIGKILL');
  await emu.cleanup();
  rmSync(work, { recursive: true, force: true });
});

const sha256 = (path: string) =>
  new Promise<string>((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });

async function guestShell(socket: string, script: string): Promise<{ exitCode: number; stdout: string }> {
  await using qga = await QgaClient.connect(socket, { timeout: 30_000 });
  await qga.sync({ timeout: 30_000 });
  const r = await exec(qga, { path: '/bin/sh', args: ['-c', script], timeout: 120_000 });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout.toString() };
}

/** Dirties guest RAM: 96 MiB of random bytes in the guest's tmpfs, then their digest. */
const DIRTY = 'head -c 100663296 /dev/urandom > /dev/shm/fill && sha256sum /dev/shm/fill | cut -c1-16';

/**
 * A second VM resumed from the same template while the emulator's runs: the emulator's own command
 * line (read from /proc), with its own overlay on the frozen disk, its own sockets and console, and
 * no port forwards; the same RAM file, mapped privately, and the same device state.
 */
async function resumeBeside(pid: number, snapshotDir: string): Promise<{ qmp: QmpClient; agent: string }> {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  const disk = join(work, 'disk.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(snapshotDir, 'disk.qcow2'), '-F', 'qcow2', disk]);
  const qmpSock = join(work, 'qmp.sock');
  const agent = join(work, 'qga.sock');
  const out: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const [flag, value] = [argv[i]!, argv[i + 1]];
    if (flag === '-daemonize') continue;
    if (flag === '-pidfile') {
      i++;
      continue;
    }
    let v = value!;
    if (flag === '-drive' && v.includes('id=system')) v = v.replace(/^file=[^,]+/, `file=${disk}`);
    else if (flag === '-chardev' && v.startsWith('socket,id=qmp,')) v = v.replace(/path=[^,]+/, `path=${qmpSock}`);
    else if (flag === '-chardev' && v.startsWith('socket,id=qga0,')) v = v.replace(/path=[^,]+/, `path=${agent}`);
    else if (flag === '-netdev') v = v.replace(/,hostfwd=[^,]+/g, '');
    else if (flag === '-serial') v = `file:${join(work, 'serial.log')}`;
    else if (flag.startsWith('-') && (value === undefined || value.startsWith('-'))) {
      out.push(flag); // a flag without a value
      continue;
    }
    out.push(flag, v);
    i++;
  }
  expect(out.join(' ')).toMatch(/memory-backend-file,id=pc\.ram,.*share=off/);
  second = spawn(argv[0]!, out, { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPath(qmpSock, 20_000);
  const qmp = await QmpClient.connect(qmpSock);
  await setMigrationCapabilities(qmp, { 'x-ignore-shared': true });
  await migrateIncoming(qmp, `file:${join(snapshotDir, 'state.raw')}`, { timeout: 60_000, pollInterval: 10 });
  if (!(await queryStatus(qmp)).running) await cont(qmp);
  return { qmp, agent };
}

describe.skipIf(!ok)('template snapshots (reference appliance)', () => {
  let template = '';
  let digest = '';

  it(
    'the first start captures a template (device state only beside a RAM file) and resumes it with rotation, healthy',
    async () => {
      const { out, stderr } = await emu.started();
      expect(stderr).toContain('capturing one');
      expect(out).toMatchObject({ mode: 'resumed', snapshotFormat: 'template-ram', rotated: true });
      expect(await emu.current(emu.key())).toBe(200);
      expect(await emu.current(PLACEHOLDER_KEY)).toBe(401);
      const [id] = emu.snapshotIds();
      const dir = join(emu.home, 'snapshots', id!);
      template = join(dir, 'ram.img');
      expect(statSync(template).size).toBe(4096 * 1024 * 1024);
      // Sparse: only the pages the guest touched take space; the stream holds the device state.
      expect(statSync(template).blocks * 512).toBeLessThan(2 * 1024 ** 3);
      expect(statSync(join(dir, 'state.raw')).size).toBeLessThan(8 << 20);
      digest = await sha256(template);
    },
    T,
  );

  it(
    'two VMs on one template at once, both writing RAM: each keeps its own pages, and the template stays byte-identical',
    async () => {
      const { report } = await emu.status();
      const dir = join(emu.home, 'snapshots', emu.snapshotIds()[0]!);
      const { qmp, agent } = await resumeBeside(report.instance!.pid, dir);
      try {
        const ours = join(socketDirFor(emu.home), 'qga.sock');
        const [a, b] = await Promise.all([guestShell(ours, DIRTY), guestShell(agent, DIRTY)]);
        expect(a.exitCode).toBe(0);
        expect(b.exitCode).toBe(0);
        expect(a.stdout).not.toBe(b.stdout); // two guests, not one
        expect((await queryStatus(qmp)).running).toBe(true);
        expect(await emu.current(emu.key())).toBe(200);
      } finally {
        await quit(qmp).catch(() => {});
        await qmp.close();
      }
      const stop = await emu.stop('--json');
      expect(JSON.parse(stop.stdout)).toMatchObject({ wasRunning: true });
      expect(await sha256(template)).toBe(digest);
    },
    T,
  );

  it(
    'the next start resumes the same template (no capture) with another key; the file is still unchanged',
    async () => {
      const first = emu.key();
      const { out, stderr } = await emu.started();
      expect(stderr).not.toContain('capturing');
      expect(out).toMatchObject({ mode: 'resumed', snapshotFormat: 'template-ram' });
      expect(emu.key()).not.toBe(first);
      expect(await emu.current(emu.key())).toBe(200);
      await emu.stop();
      expect(await sha256(template)).toBe(digest);
    },
    T,
  );

  it(
    'a damaged template is refused before QEMU runs: a cold boot with rotated secrets, the snapshot quarantined',
    async () => {
      // The first page: inside the first of the 64 blocks the check samples.
      execFileSync('dd', ['if=/dev/urandom', `of=${template}`, 'bs=4096', 'count=1', 'conv=notrunc'], {
        stdio: 'ignore',
      });
      const r = await cli(['start', '--image', 'reference', '--json'], emu.env);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        mode: 'cold',
        rotated: true,
        coldReason: expect.stringContaining('template RAM file differs'),
      });
      expect(await emu.current(emu.key())).toBe(200);
      expect(emu.snapshotIds()).toEqual([]);
    },
    T,
  );
});
