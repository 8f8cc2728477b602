import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBaseImage } from '@stack/emulator-image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDebianQemu } from '../../../tools/testing/debian-qemu.js';
import { hasTools } from '../../../tools/testing/requires.js';
import { cli, PLACEHOLDER_KEY, testInstance } from './cli-harness.js';

// The reference appliance on host shapes other than this one's default: Debian 12's own QEMU 7.2 (no
// `file:` migration, no mapped-ram) and a home and image cache deep enough that sockets beside them
// would pass the length limit of unix sockets.
const ok = hasTools(
  'qemu-system-x86_64',
  'qemu-img',
  'zstd',
  'debootstrap',
  'apt-get',
  'dpkg-deb',
  'mkfs.vfat',
  'mcopy',
  'sfdisk',
);
const T = 900_000;

describe.skipIf(!ok)("on Debian 12's own QEMU 7.2", () => {
  // The plain stream first (what 7.2 has besides templates), then a template.
  const emu = testInstance({ env: { EMULATOR_SNAPSHOT_FORMAT: 'stream' } });
  beforeAll(() => {
    // Its QEMU first in PATH: the CLI runs `qemu-system-x86_64` as it finds it (qemu-img stays the host's).
    emu.env.PATH = `${ensureDebianQemu('bookworm').binDir}:${process.env.PATH}`;
  });
  afterAll(() => emu.cleanup());

  it(
    'captures a snapshot (plain stream through exec:) and resumes it with fresh secrets',
    async () => {
      const r = await emu.start();
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(r.stderr).toContain('capturing one');
      expect(out).toMatchObject({
        mode: 'resumed',
        rotated: true,
        qemuVersion: expect.stringMatching(/^7\.2\./),
        snapshotFormat: 'stream',
      });
      const key = emu.key();
      expect(await emu.current(key)).toBe(200);
      expect(await emu.current(PLACEHOLDER_KEY)).toBe(401);
    },
    T,
  );

  it(
    'stop saves the session (the same stream through exec:) and the next start resumes it, with its data and key',
    async () => {
      const key = emu.key();
      expect((await emu.putData('on72', 'qemu 7.2', key)).status).toBe(200);
      const stop = await emu.stop('--json');
      expect(JSON.parse(stop.stdout)).toMatchObject({ how: 'saved' });
      const r = await emu.start();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('capturing');
      expect(JSON.parse(r.stdout)).toMatchObject({ mode: 'session', snapshotFormat: 'stream', secrets: 'kept' });
      expect(emu.key()).toBe(key);
      expect(await emu.getData('on72', key)).toEqual({ status: 200, body: 'qemu 7.2' });
    },
    T,
  );

  it(
    'ephemeral: the golden snapshot again (no capture) with another key; corrupted, a cold boot with rotated secrets',
    async () => {
      const first = emu.key();
      await emu.stop();
      const ephemeral = { ...emu.env, EMULATOR_EPHEMERAL: '1' };
      const r = await cli(['start', '--image', 'reference', '--json'], ephemeral);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('capturing');
      expect(JSON.parse(r.stdout)).toMatchObject({ mode: 'resumed', snapshotFormat: 'stream' });
      expect(emu.key()).not.toBe(first);
      expect(await emu.current(emu.key())).toBe(200);
      expect(await emu.current(first)).toBe(401);
      await emu.stop();

      const [id] = emu.snapshotIds();
      for (const f of ['state.raw', 'state.zst']) {
        const fd = openSync(join(emu.home, 'snapshots', id!, f), 'r+');
        writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 0);
        closeSync(fd);
      }
      const c = await cli(['start', '--image', 'reference', '--json'], ephemeral);
      expect(c.code, c.stderr).toBe(0);
      expect(JSON.parse(c.stdout)).toMatchObject({
        mode: 'cold',
        rotated: true,
        coldReason: expect.stringContaining('resume failed'),
      });
      expect(await emu.current(emu.key())).toBe(200);
      expect(await emu.current(PLACEHOLDER_KEY)).toBe(401);
    },
    T,
  );

  it(
    'a template snapshot too: captured (the device state through exec:), resumed with the RAM file mapped privately (no readonly=on before 8.2)',
    async () => {
      await emu.stop();
      const auto = { ...emu.env, EMULATOR_EPHEMERAL: '1', EMULATOR_SNAPSHOT_FORMAT: 'auto' };
      const r = await cli(['start', '--image', 'reference', '--json'], auto);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('capturing one');
      expect(JSON.parse(r.stdout)).toMatchObject({
        mode: 'resumed',
        rotated: true,
        qemuVersion: expect.stringMatching(/^7\.2\./),
        snapshotFormat: 'template-ram',
      });
      // The command's trace (always written) holds each QEMU command line; the last is the resume's.
      const backend = readFileSync(join(emu.home, 'run', 'trace.log'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"kind":"qemu"'))
        .map((l) => (JSON.parse(l) as { argv: string[] }).argv.find((a) => a.startsWith('memory-backend-file,')))
        .at(-1);
      expect(backend).toMatch(/,share=off$/); // readonly=on,rom=off only from 8.2
      expect(await emu.current(emu.key())).toBe(200);
      expect(await emu.current(PLACEHOLDER_KEY)).toBe(401);
    },
    T,
  );

  it(
    'checkpoints: saved on a running session, restored (data back, same key) while running and from a stopped instance',
    async () => {
      await emu.stop();
      const auto = { ...emu.env, EMULATOR_SNAPSHOT_FORMAT: 'auto' };
      const started = await cli(['start', '--image', 'reference', '--json'], auto);
      expect(started.code, started.stderr).toBe(0);
      const key = emu.key();
      expect((await emu.putData('c72', 'v1', key)).status).toBe(200);
      const saved = await cli(['checkpoint', 'save', 'on72', '--json'], auto);
      expect(saved.code, saved.stderr).toBe(0);
      expect((await emu.putData('c72', 'v2', key)).status).toBe(200);
      const restore = () => cli(['checkpoint', 'restore', 'on72', '--image', 'reference', '--json'], auto);
      const running = await restore();
      expect(running.code, running.stderr).toBe(0);
      expect(emu.key()).toBe(key);
      expect(await emu.getData('c72', key)).toEqual({ status: 200, body: 'v1' });
      expect((await emu.putData('c72', 'v3', key)).status).toBe(200);
      await emu.stop();
      const stopped = await restore();
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(await emu.getData('c72', key)).toEqual({ status: 200, body: 'v1' });
      const st = await emu.status();
      expect(st.report.instance?.qemuVersion).toMatch(/^7\.2\./);
    },
    T,
  );
});

describe.skipIf(!ok)('with a home and an image cache at 60+ character paths', () => {
  const deep = join(tmpdir(), `stack-emulator-long-path-test-${'x'.repeat(40)}-${process.pid}`);
  const cache = join(deep, 'cache');
  const emu = testInstance({ home: join(deep, 'home'), env: { EMULATOR_CACHE_DIR: cache } });
  afterAll(() => emu.cleanup());

  it(
    'builds the reference appliance there and starts it',
    async () => {
      expect(cache.length).toBeGreaterThanOrEqual(60);
      // The base image (debootstrap, no sockets) is shared with the normal cache, or built there once;
      // the appliance build, with its QEMU monitor and agent sockets, runs in the deep cache.
      const base = await ensureBaseImage({ arch: 'amd64' });
      mkdirSync(join(cache, 'base-images'), { recursive: true });
      const name = base.qcow2.split('/').at(-2)!;
      symlinkSync(join(base.qcow2, '..'), join(cache, 'base-images', name));
      const r = await emu.start();
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ mode: 'resumed', rotated: true });
      // The appliance was built in the deep cache; the session runs on a hard link of it.
      const built = readdirSync(join(cache, 'appliances')).filter((n) => n.endsWith('.qcow2'));
      expect(built.map((n) => statSync(join(cache, 'appliances', n)).ino)).toContain(
        statSync(join(emu.home, 'session', 'image.qcow2')).ino,
      );
      expect(existsSync(join(emu.home, 'session', 'disk.qcow2'))).toBe(true);
      expect(await emu.current(emu.key())).toBe(200);
    },
    2 * T,
  );
});
