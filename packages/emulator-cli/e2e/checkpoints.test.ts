import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { cli, http, processesMentioning, testInstance } from './cli-harness.js';

// Checkpoints (issue 31) through the built CLI on the reference appliance: v1 written, saved, v2
// written, restored (v1 back, v2 gone, same key); restored twice; restored from a stopped instance;
// refused without --force over a name; listed; forked onto another instance (isolated, its own
// ports); removed while both instances' sessions sit on it. The tests run in order on one VM.
const ok = hasTools('qemu-system-x86_64', 'qemu-img', 'zstd', 'debootstrap', 'mkfs.vfat', 'mcopy', 'sfdisk');
const emu = testInstance();
const { env } = emu;
const T = 900_000;
const ckpt = (...args: string[]) => cli(['checkpoint', ...args], env);
const restore = (name: string) => ckpt('restore', name, '--image', 'reference', '--json');

afterAll(async () => {
  await cli(['stop', '--all', '--timeout', '5'], env);
  await emu.cleanup();
});

/** The reference appliance's test data on another instance's backend port: read, or write `body`. */
function forkData(port: number, name: string, body?: string) {
  const headers = { 'x-stack-project-id': 'internal', 'x-stack-publishable-client-key': emu.key() };
  const path = `/api/v1/internal/emulator-test/data/${name}`;
  return body === undefined ? http(port, 'GET', path, headers) : http(port, 'PUT', path, headers, body);
}

interface ListJson {
  checkpoints: { name: string; instance: string; image: { choice: string }; bytes: number; format: string }[];
}

describe.skipIf(!ok)('checkpoints: the whole backend back to a named state (reference appliance)', () => {
  let key = '';

  it(
    'v1 written, `checkpoint save base`, v2 written, `checkpoint restore base`: v1 there, v2 gone, healthy, same key',
    async () => {
      await emu.started();
      key = emu.key();
      expect((await emu.putData('item', 'v1', key)).status).toBe(200);
      const saved = await ckpt('save', 'base', '--json');
      expect(saved.code, saved.stderr).toBe(0);
      const s = JSON.parse(saved.stdout) as { pausedMs: number; checkpoint: { name: string } };
      expect(s.checkpoint.name).toBe('base');
      // The instance ran on after the save: it takes writes at once.
      expect((await emu.putData('item', 'v2', key)).status).toBe(200);
      expect((await emu.putData('later', 'x', key)).status).toBe(200);
      expect(await emu.getData('item', key)).toEqual({ status: 200, body: 'v2' });

      const r = await restore('base');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('restored checkpoint base');
      expect(emu.key()).toBe(key);
      expect(await emu.getData('item', key)).toEqual({ status: 200, body: 'v1' });
      expect((await emu.getData('later', key)).status).toBe(404);
      const st = await emu.status();
      expect(st.report.healthy, st.report.reason).toBe(true);
    },
    T,
  );

  it(
    'restore twice in a row: the checkpoint is never consumed',
    async () => {
      expect((await emu.putData('item', 'v3', key)).status).toBe(200);
      for (let i = 0; i < 2; i++) {
        const r = await restore('base');
        expect(r.code, r.stderr).toBe(0);
        expect(await emu.getData('item', key)).toEqual({ status: 200, body: 'v1' });
      }
    },
    T,
  );

  it(
    'a fork: `start --instance fork --from-checkpoint base` begins at v1 on its own ports with the same key, isolated from the first',
    async () => {
      const r = await cli(
        [
          'start',
          '--instance',
          'fork',
          '--from-checkpoint',
          'base',
          '--image',
          'reference',
          '--ports',
          'auto',
          '--json',
        ],
        env,
      );
      expect(r.code, r.stderr).toBe(0);
      const fork = (JSON.parse(r.stdout) as { ports: { backend: number } }).ports.backend;
      expect(fork).not.toBe(emu.ports.backend);
      expect(await forkData(fork, 'item')).toEqual({ status: 200, body: 'v1' });
      // A write on either side stays on that side.
      expect((await forkData(fork, 'item', 'fork')).status).toBe(200);
      expect((await emu.putData('mine', 'first', key)).status).toBe(200);
      expect(await emu.getData('item', key)).toEqual({ status: 200, body: 'v1' });
      expect(await forkData(fork, 'item')).toEqual({ status: 200, body: 'fork' });
      expect((await forkData(fork, 'mine')).status).toBe(404);
      expect((await cli(['stop', '--instance', 'fork'], env)).code).toBe(0);
    },
    T,
  );

  it(
    'saving over a name needs --force; `checkpoint list --json` shows it; an unknown name lists the ones there are',
    async () => {
      const again = await ckpt('save', 'base');
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('--force');
      expect((await ckpt('save', 'second')).code).toBe(0);
      const l = await ckpt('list', '--json');
      expect(l.code, l.stderr).toBe(0);
      const list = JSON.parse(l.stdout) as ListJson;
      expect(list.checkpoints.map((c) => c.name)).toEqual(['base', 'second']);
      expect(list.checkpoints[0]).toMatchObject({ instance: 'default', image: { choice: 'reference' } });
      expect(list.checkpoints[0]!.bytes).toBeGreaterThan(0);
      const unknown = await restore('nope');
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('base, second');
      const bad = await ckpt('save', '../x');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('not a checkpoint name');
    },
    T,
  );

  it(
    'stopped, then `checkpoint restore base`: running again at v1',
    async () => {
      expect((await emu.putData('item', 'v4', key)).status).toBe(200);
      expect((await emu.stop()).code).toBe(0);
      const r = await restore('base');
      expect(r.code, r.stderr).toBe(0);
      expect(await emu.getData('item', key)).toEqual({ status: 200, body: 'v1' });
    },
    T,
  );

  it(
    '`checkpoint rm` frees it; the running instance restored from it runs on; a stop saves and a start resumes',
    async () => {
      const dir = join(emu.home, 'checkpoints', 'base');
      expect(existsSync(dir)).toBe(true);
      const r = await ckpt('rm', 'base');
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(dir)).toBe(false);
      expect(await emu.getData('item', key)).toEqual({ status: 200, body: 'v1' });
      expect((await emu.stop()).code).toBe(0);
      const s = await emu.started();
      expect(s.out.mode).toBe('session');
      expect(await emu.getData('item', key)).toEqual({ status: 200, body: 'v1' });
      // The fork's saved session was built on it too: it resumes with its own data.
      const f = await cli(['start', '--instance', 'fork', '--image', 'reference', '--ports', 'auto', '--json'], env);
      expect(f.code, f.stderr).toBe(0);
      const fork = (JSON.parse(f.stdout) as { mode: string; ports: { backend: number } }).ports.backend;
      expect(await forkData(fork, 'item')).toEqual({ status: 200, body: 'fork' });
      expect((await cli(['stop', '--instance', 'fork'], env)).code).toBe(0);
      expect(processesMentioning(join(emu.home, 'checkpoints'))).toEqual([]);
    },
    T,
  );
});
