import { closeSync, linkSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exec, getTime } from '@stack/qga-protocol';
import { ensureApplianceImage } from '@stack/emulator-image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { cli, PLACEHOLDER_KEY, testInstance, traceEvents } from './cli-harness.js';

// The CLI against images/stack-compat: guest scripts that behave as the original pipeline's Stack
// image does (base environment required, secrets back to the placeholders at every boot, rotation
// only from the placeholders with a service restart, older key names, publication through
// /host${STACK_EMULATOR_VM_DIR_HOST}). Tests run in order on one home.
const ok = hasTools('qemu-system-x86_64', 'qemu-img', 'zstd', 'debootstrap', 'mkfs.vfat', 'mcopy', 'sfdisk');
const T = 900_000;
const work = mkdtempSync(join(tmpdir(), 'emu-compat-'));
const baseEnv = join(work, 'base.env');
writeFileSync(
  baseEnv,
  'STACK_SERVER_SECRET=compat-test-secret\nNEXT_PUBLIC_STACK_PROJECT_ID=internal\nSTACK_DATABASE_CONNECTION_STRING=postgres://stack@localhost/stack\n',
);
// mapped-ram snapshots (the format before templates, still chosen where QEMU has no file-backed RAM):
// the other suites run on templates.
const emu = testInstance({
  env: { EMULATOR_BASE_ENV: baseEnv, EMULATOR_SNAPSHOT_FORMAT: 'mapped-ram' },
  image: () => image,
});
const { env, current, key, status } = emu;
let image = '';
const { started } = emu;
const guest = (script: string) =>
  emu.withAgent(async (qga) =>
    (await exec(qga, { path: '/bin/sh', args: ['-c', script], timeout: 60_000 })).stdout.toString().trim(),
  );
const baked = () => guest('cat /var/lib/stack-compat/baked-pck');

beforeAll(async () => {
  const built = await ensureApplianceImage({
    applianceDir: resolve(import.meta.dirname, '../../../images/stack-compat'),
    arch: 'amd64',
    name: 'stack-compat',
  });
  // Without its boot files beside it, as the Stack image is pulled: the CLI finds BIOS boot code on
  // the disk and boots it with SeaBIOS, as the original did.
  image = join(work, 'stack-emulator-amd64.qcow2');
  linkSync(built.image, image);
}, 2 * T);
afterAll(async () => {
  await emu.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!ok)("on the compatibility appliance (the original pipeline's guest scripts)", () => {
  it(
    'capture (booted by SeaBIOS from the disk\'s BIOS boot code), then resume with rotation (older key names, a service restart): the new key in the database and the "built JavaScript"',
    async () => {
      const { out, stderr } = await started();
      expect(stderr).toContain('capturing one');
      expect(out).toMatchObject({ mode: 'resumed', secrets: 'fresh', boot: 'bios' });
      expect(await current(key())).toBe(200);
      expect(await current(PLACEHOLDER_KEY)).toBe(401);
      expect(await baked()).toBe(key());
    },
    T,
  );

  it(
    "the saved session resumes with its secrets; --rotate is refused by this image's hook (placeholders only) and says so",
    async () => {
      const k = key();
      expect(JSON.parse((await emu.stop('--json')).stdout)).toMatchObject({ how: 'saved' });
      const { out, stderr } = await started('--rotate');
      expect(out).toMatchObject({ mode: 'session', secrets: 'kept' });
      // No clock daemon in this image (an optional part of the guest contract): set as before, by date -s.
      expect(traceEvents(emu.home).filter((e) => e.kind === 'clock')).toEqual([
        expect.objectContaining({ via: 'date' }),
      ]);
      expect(Math.abs(Number(await emu.withAgent((qga) => getTime(qga))) / 1e6 - Date.now())).toBeLessThan(1000);
      expect(stderr).toContain('rotates only from its placeholders');
      expect(key()).toBe(k);
      expect(await current(k)).toBe(200);
    },
    T,
  );

  it(
    "after kill -9, the cold boot of the session disk comes up on the placeholders (as the original does): the disk's key is put back",
    async () => {
      const k = key();
      await emu.killQemu();
      const { out, stderr } = await started();
      expect(out).toMatchObject({ mode: 'cold', secrets: 'kept' });
      expect(out.coldReason).toMatch(/did not stop cleanly/);
      expect(stderr).toContain('putting its client key back');
      expect(key()).toBe(k);
      expect(await current(k)).toBe(200);
      expect(await current(PLACEHOLDER_KEY)).toBe(401);
      // The database and the "built JavaScript" agree again.
      expect(await baked()).toBe(k);
    },
    T,
  );

  it(
    'start then run --config-file for two projects in different directories; run without --config-file leaves the environment alone',
    async () => {
      const dirs = [mkdtempSync(join(work, 'app-a-')), mkdtempSync(join(work, 'app-b-'))];
      for (const d of dirs) {
        writeFileSync(join(d, 'package.json'), '{}\n');
        writeFileSync(join(d, 'stack.config.ts'), 'export const config = {};\n');
      }
      const a = await cli(['start', '--image', image, '--config-file', join(dirs[0]!, 'stack.config.ts')], env);
      expect(a.code, a.stderr).toBe(0);
      const ca = JSON.parse(a.stdout) as { project_id: string; publishable_client_key: string };
      expect(await current(ca.publishable_client_key, ca.project_id)).toBe(200);
      const out = join(work, 'run-b.txt');
      const b = await cli(
        [
          'run',
          '--image',
          image,
          '--config-file',
          join(dirs[1]!, 'stack.config.ts'),
          '--',
          'sh',
          '-c',
          `echo "$STACK_PROJECT_ID $STACK_PUBLISHABLE_CLIENT_KEY" > ${out}`,
        ],
        env,
      );
      expect(b.code, b.stderr).toBe(0);
      const [pb, kb] = readFileSync(out, 'utf8').trim().split(' ');
      expect(pb).not.toBe(ca.project_id);
      expect(await current(kb!, pb)).toBe(200);
      expect(await current(ca.publishable_client_key, ca.project_id)).toBe(200);
      const plain = join(work, 'run-plain.txt');
      const r = await cli(
        [
          'run',
          '--image',
          image,
          '--',
          'sh',
          '-c',
          `echo "[$STACK_PUBLISHABLE_CLIENT_KEY] [$STACK_PROJECT_ID]" > ${plain}`,
        ],
        { ...env, STACK_PROJECT_ID: 'mine' },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(plain, 'utf8').trim()).toBe('[] [mine]');
      await emu.stop();
    },
    T,
  );

  it(
    'ephemeral: a corrupted snapshot falls back to a cold boot, healthy with rotated keys (nothing published through a share it cannot reach)',
    async () => {
      const [id] = emu.snapshotIds();
      for (const f of ['state.raw', 'state.zst']) {
        const fd = openSync(join(emu.home, 'snapshots', id!, f), 'r+');
        writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 0);
        closeSync(fd);
      }
      const { out } = await started('--ephemeral');
      expect(out).toMatchObject({ mode: 'cold', rotated: true });
      expect(out.coldReason).toContain('resume failed');
      expect(await current(key())).toBe(200);
      expect(await current(PLACEHOLDER_KEY)).toBe(401);
      expect(await baked()).toBe(key());
      await emu.stop();
    },
    T,
  );

  it(
    '--no-snapshot cold-boots (ephemeral), healthy with rotated keys',
    async () => {
      const { out } = await started('--no-snapshot', '--ephemeral');
      expect(out).toMatchObject({ mode: 'cold', rotated: true });
      expect(await current(key())).toBe(200);
      await emu.stop();
    },
    T,
  );

  it(
    'without its base environment the image refuses to start its services, and the start says which ones are down',
    async () => {
      const r = await cli(['start', '--image', image, '--no-snapshot', '--ephemeral'], {
        ...env,
        EMULATOR_BASE_ENV: '',
        EMULATOR_READY_TIMEOUT: '30',
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/not healthy within 30 s.*backend/s);
      expect((await status()).report.vm).toBe('stopped');
    },
    T,
  );
});
