import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureApplianceImage } from '@stack/emulator-image';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { testPortBase } from '../../../tools/testing/ports.js';
import { bundledBaseEnvText } from '../../emulator/src/image/base-env-offline.js';
import { BUNDLED_BASE_ENV } from '../../emulator/src/image/bundled-base-env.js';
import { cli, get, processesMentioning, testInstance } from './cli-harness.js';

// Issue 32: the names the original's tools set. STACK_EMULATOR_*_PORT wins over EMULATOR_*_PORT (the
// harness sets those), and EMULATOR_RUN_DIR / EMULATOR_IMAGE_DIR move the run directory (with
// vm/internal-pck) and the images out of the home, as the original's run-emulator.sh did.
const ok = hasTools('qemu-system-x86_64', 'qemu-img', 'zstd', 'debootstrap', 'mkfs.vfat', 'mcopy', 'sfdisk');
const T = 900_000;
const elsewhere = mkdtempSync(join(tmpdir(), 'emu-names-'));
const runDir = join(elsewhere, 'run');
const imageDir = join(elsewhere, 'images');
const moved = testPortBase(5);
const newPorts = {
  STACK_EMULATOR_DASHBOARD_PORT: String(moved),
  STACK_EMULATOR_BACKEND_PORT: String(moved + 1),
  STACK_EMULATOR_MINIO_PORT: String(moved + 2),
  STACK_EMULATOR_INBUCKET_PORT: String(moved + 3),
  STACK_EMULATOR_MOCK_OAUTH_PORT: String(moved + 4),
};
const emu = testInstance({
  env: { EMULATOR_EPHEMERAL: '1', EMULATOR_RUN_DIR: runDir, EMULATOR_IMAGE_DIR: imageDir, ...newPorts },
});
const { home, env } = emu;

afterAll(async () => {
  await emu.cleanup();
  for (const pid of processesMentioning(elsewhere)) process.kill(pid, 'SIGKILL');
  rmSync(elsewhere, { recursive: true, force: true });
});

describe.skipIf(!ok)("the original's names (reference appliance)", () => {
  it('a bad STACK_EMULATOR_*_PORT is refused naming it, exit 2', async () => {
    const r = await cli(['start', '--image', 'reference'], { ...env, STACK_EMULATOR_BACKEND_PORT: 'abc' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('STACK_EMULATOR_BACKEND_PORT="abc"');
  });

  it(
    'starts on the STACK_EMULATOR_* ports with its run directory in EMULATOR_RUN_DIR; env names the URLs',
    async () => {
      await emu.started();
      const pck = readFileSync(join(runDir, 'vm', 'internal-pck'), 'utf8').trim();
      expect(pck).not.toBe('');
      expect(existsSync(join(runDir, 'state.json'))).toBe(true);
      expect(existsSync(join(home, 'run', 'state.json'))).toBe(false);
      expect(existsSync(join(home, 'run', 'vm', 'internal-pck'))).toBe(false);
      const backend = moved + 1;
      expect(
        await get(backend, '/api/v1/projects/current', {
          'x-stack-project-id': 'internal',
          'x-stack-publishable-client-key': pck,
        }),
      ).toBe(200);
      // The harness's EMULATOR_BACKEND_PORT lost: nothing listens there.
      expect(await get(emu.ports.backend, '/health')).toBe(0);
      const out = await cli(['env'], env);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toContain(`STACK_EMULATOR_API_URL=http://127.0.0.1:${backend}\n`);
      expect(out.stdout).toContain(`STACK_EMULATOR_DASHBOARD_URL=http://127.0.0.1:${moved}\n`);
      expect(out.stdout).toContain(`STACK_API_URL=http://127.0.0.1:${backend}\n`);
    },
    T,
  );

  it(
    'stop finds the instance through EMULATOR_RUN_DIR',
    async () => {
      const r = await emu.stop();
      expect(r.code, r.stderr).toBe(0);
      expect((await emu.status()).code).toBe(3);
    },
    T,
  );

  it(
    'a Stack image dropped into EMULATOR_IMAGE_DIR cold-boots without GitHub on the base environment the package bundles, naming its release',
    async () => {
      // The stand-in: the reference appliance under the Stack image's name, with nothing beside it
      // (no base.env), and GitHub's API on a port where nothing listens.
      const built = await ensureApplianceImage({
        applianceDir: resolve(import.meta.dirname, '../../../images/reference'),
        arch: 'amd64',
        name: 'reference',
      });
      mkdirSync(imageDir, { recursive: true });
      copyFileSync(built.image, join(imageDir, 'stack-emulator-amd64.qcow2'));
      const offline = { ...env, STACK_EMULATOR_GITHUB_API: 'http://127.0.0.1:9' };
      const r = await cli(['start', '--no-snapshot', '--json'], offline);
      expect(r.code, r.stderr).toBe(0);
      const release = `${BUNDLED_BASE_ENV.repo} at ${BUNDLED_BASE_ENV.ref}, commit ${BUNDLED_BASE_ENV.commit.slice(0, 12)}`;
      expect(r.stderr).toContain(`using the base environment bundled with this package (${release})`);
      expect(r.stderr).toContain('GitHub could not be reached');
      // What the guest read from its config disk.
      const inGuest = await cli(['exec', '--', 'cat', '/run/stack/base.env'], offline);
      expect(inGuest.code, inGuest.stderr).toBe(0);
      expect(inGuest.stdout).toBe(bundledBaseEnvText(BUNDLED_BASE_ENV));
      // Not kept beside the image: the next start that reaches GitHub generates the image's own.
      expect(readdirSync(imageDir).filter((f) => f.includes('base.env'))).toEqual([]);
      expect((await cli(['stop'], offline)).code).toBe(0);
    },
    T,
  );
});
