import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureApplianceImage } from '@stack/emulator-image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { cli, isAlive, PLACEHOLDER_KEY, testInstance } from './cli-harness.js';

// A home as the original stack-emulator leaves it (stack-emulator-inventory.md 1.14): a QEMU it
// started (run/vm/qemu.pid, monitor.sock), its cold-boot overlay with base-image.fingerprint and data
// in it, its internal-pck, and its snapshot files under images/. The data is made by our own first
// session, then its disk is turned into the original's overlay (absolute backing name, fingerprint).
const ok = hasTools('qemu-system-x86_64', 'qemu-img', 'zstd', 'debootstrap', 'mkfs.vfat', 'mcopy', 'sfdisk');
const T = 900_000;

describe.skipIf(!ok)('upgrading a home the original stack-emulator left', () => {
  const emu = testInstance();
  const vm = join(emu.home, 'run', 'vm');
  const image = join(emu.home, 'images', 'stack-emulator-amd64.qcow2');
  const start = (...args: string[]) => cli(['start', '--image', image, '--json', ...args], emu.env);
  let originalPid = 0;
  let key = '';

  beforeAll(async () => {
    const built = await ensureApplianceImage({
      applianceDir: resolve(import.meta.dirname, '../../../images/reference'),
      arch: 'amd64',
      name: 'reference',
    });
    mkdirSync(join(emu.home, 'images'), { recursive: true });
    linkSync(built.image, image);
    cpSync(`${built.image}.boot`, `${image}.boot`, { recursive: true });
  }, T);
  afterAll(async () => {
    if (originalPid && isAlive(originalPid)) process.kill(originalPid, 'SIGKILL');
    await emu.cleanup();
  });

  it(
    'sets the scene: data on a disk, moved to where the original keeps its cold-boot overlay',
    async () => {
      const r = await start();
      expect(r.code, r.stderr).toBe(0);
      key = emu.key();
      expect((await emu.putData('legacy', 'from the original', key)).status).toBe(200);
      expect((await emu.stop('--json')).code).toBe(0);
      const session = join(emu.home, 'session');
      // The session disk is on the golden disk, then the image; the original's overlay is on the image
      // directly, by its absolute path: rebased (contents kept) while the golden disk is still beside it.
      execFileSync('qemu-img', [
        'rebase',
        '-q',
        '-f',
        'qcow2',
        '-b',
        image,
        '-F',
        'qcow2',
        join(session, 'disk.qcow2'),
      ]);
      renameSync(join(session, 'disk.qcow2'), join(vm, 'disk.qcow2'));
      rmSync(session, { recursive: true, force: true });
      const st = statSync(image);
      writeFileSync(join(vm, 'base-image.fingerprint'), `${st.size}:${Math.floor(st.mtimeMs / 1000)}|no-savevm`);
      writeFileSync(join(vm, 'internal-pck'), key); // the original: no newline
      writeFileSync(join(emu.home, 'images', 'stack-emulator-amd64.savevm.zst'), Buffer.alloc(1 << 20, 1));
      writeFileSync(join(emu.home, 'images', 'stack-emulator-amd64.savevm.raw'), Buffer.alloc(2 << 20, 2));
      // A QEMU the original started: daemonized with its pid file and monitor in run/vm.
      const q = spawnSync('qemu-system-x86_64', [
        '-machine',
        'q35',
        '-accel',
        'tcg',
        '-m',
        '64',
        '-nodefaults',
        '-display',
        'none',
        '-daemonize',
        '-pidfile',
        join(vm, 'qemu.pid'),
        '-chardev',
        `socket,id=monitor,path=${join(vm, 'monitor.sock')},server=on,wait=off`,
        '-mon',
        'chardev=monitor,mode=control',
      ]);
      expect(q.status, q.stderr?.toString()).toBe(0);
      originalPid = Number(readFileSync(join(vm, 'qemu.pid'), 'utf8').trim());
      expect(isAlive(originalPid)).toBe(true);
    },
    T,
  );

  it(
    'start finds the live QEMU of the original, says so, and touches none of its files',
    async () => {
      const r = await start();
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(
        `started by the original stack-emulator is running on ${emu.home} (QEMU pid ${originalPid})`,
      );
      expect(r.stderr).toContain('stack-emulator stop');
      for (const f of ['qemu.pid', 'monitor.sock', 'disk.qcow2', 'base-image.fingerprint', 'internal-pck'])
        expect(existsSync(join(vm, f)), f).toBe(true);
      expect(isAlive(originalPid)).toBe(true);
      const s = await emu.status();
      expect(s.report.vm).toBe('running');
      expect(s.report.reason).toContain(`QEMU pid ${originalPid} was started by the original stack-emulator`);
      expect(s.report.notes?.join('\n')).toMatch(/snapshot files take .* rm .*stack-emulator-amd64\.savevm\.raw/);
    },
    T,
  );

  it(
    'stop stops it (proven by its command line), then removes its pid file and sockets only',
    async () => {
      const r = await cli(['stop', '--json', '--timeout', '2'], emu.env);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ wasRunning: true, original: true });
      expect(isAlive(originalPid)).toBe(false);
      expect(existsSync(join(vm, 'qemu.pid'))).toBe(false);
      expect(existsSync(join(vm, 'disk.qcow2'))).toBe(true);
    },
    T,
  );

  it(
    "start adopts the original's disk: its data and its secrets, the savevm files reported with their rm command",
    async () => {
      const r = await start();
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { mode: string; coldReason: string; secrets: string };
      expect(out.mode).toBe('cold');
      expect(out.coldReason).toContain('the original stack-emulator left');
      expect(out.secrets).toBe('kept');
      expect(r.stderr).toMatch(/snapshot files take .* rm /);
      expect(emu.key()).toBe(key);
      expect(await emu.getData('legacy', key)).toEqual({ status: 200, body: 'from the original' });
      expect(await emu.current(PLACEHOLDER_KEY)).toBe(401);
      expect(existsSync(join(vm, 'disk.qcow2'))).toBe(false);
      expect(existsSync(join(vm, 'base-image.fingerprint'))).toBe(false);
      expect((await emu.status()).report.session).toMatchObject({ origin: 'adopted' });
      // The key file as the original wrote it: the key alone, no newline.
      expect(readFileSync(emu.pckFile, 'utf8')).toBe(key);
    },
    T,
  );
});
