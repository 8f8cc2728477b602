import { existsSync, linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureApplianceImage } from '@stack/emulator-image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { cli, get, http, processesMentioning, type StartJson, testInstance } from './cli-harness.js';

// One template, many instances (issue 30): host ports are told to a guest when it settles, so two
// instances on other host ports resume the same golden snapshot (images that declare
// /etc/stack-emulator/retargets-ports: the reference appliance), while an image without the marker
// (images/stack-compat, as the original pipeline's) captures one per port set and says why. Tests run
// in order, each suite on its own home.
const ok = hasTools('qemu-system-x86_64', 'qemu-img', 'zstd', 'debootstrap', 'mkfs.vfat', 'mcopy', 'sfdisk');
const T = 900_000;

type Ports = { dashboard: number; backend: number; minio: number; inbucket: number; mockOauth: number };

/** The golden snapshots of a home (entries named by their key id). */
const snapshotDirs = (home: string) =>
  existsSync(join(home, 'snapshots'))
    ? readdirSync(join(home, 'snapshots')).filter((n) => /^[0-9a-f]{32}$/.test(n))
    : [];
/** What the home remembers of each image: does it retarget its ports. */
const verdicts = (home: string) =>
  JSON.parse(readFileSync(join(home, 'images', 'retargets-ports.json'), 'utf8')) as Record<string, boolean>;
/** The reference appliance's runtime.env, as its guest was told (test endpoint, no key). */
async function guestRuntime(port: number): Promise<Record<string, string>> {
  const r = await http(port, 'GET', '/api/v1/internal/emulator-test/runtime-env');
  expect(r.status, r.body).toBe(200);
  return JSON.parse(r.body) as Record<string, string>;
}
const portEnv = (p: Ports) => ({
  EMULATOR_DASHBOARD_PORT: String(p.dashboard),
  EMULATOR_BACKEND_PORT: String(p.backend),
  EMULATOR_MINIO_PORT: String(p.minio),
  EMULATOR_INBUCKET_PORT: String(p.inbucket),
  EMULATOR_MOCK_OAUTH_PORT: String(p.mockOauth),
});

describe.skipIf(!ok)('two instances on other host ports share one template (reference appliance)', () => {
  const emu = testInstance();
  // The harness gives the default instance fixed test ports; the named ones choose theirs (--ports auto).
  const { env } = emu;
  const named = (name: string, ...args: string[]) => cli([...args, '--instance', name], env);
  const clientKey = async (name: string) => {
    const r = await named(name, 'env', '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as Record<string, string>).STACK_PUBLISHABLE_CLIENT_KEY!;
  };
  const current = (port: number, key: string) =>
    get(port, '/api/v1/projects/current', { 'x-stack-project-id': 'internal', 'x-stack-publishable-client-key': key });
  const ports: Record<string, Ports> = {};

  afterAll(async () => {
    await cli(['stop', '--all', '--timeout', '5'], env);
    for (const pid of processesMentioning(emu.home)) process.kill(pid, 'SIGKILL');
    await emu.cleanup();
  });

  it(
    'the first instance on other ports captures one snapshot, stored for the default ports, and is told its own',
    async () => {
      const r = await named('t1', 'start', '--image', 'reference', '--json', '--ports', 'auto');
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as StartJson & { ports: Ports };
      ports.t1 = out.ports;
      expect(out).toMatchObject({ mode: 'resumed', secrets: 'fresh' });
      expect(r.stderr).toContain('capturing one');
      expect(snapshotDirs(emu.home)).toHaveLength(1);
      expect(Object.values(verdicts(emu.home))).toEqual([true]);
      const key = JSON.parse(readFileSync(join(emu.home, 'snapshots', snapshotDirs(emu.home)[0]!, 'meta.json'), 'utf8'))
        .key as { configDisk: Record<string, string> };
      expect(key.configDisk.STACK_EMULATOR_BACKEND_HOST_PORT).toBe('26701');
      expect((await guestRuntime(ports.t1.backend)).STACK_EMULATOR_BACKEND_HOST_PORT).toBe(String(ports.t1.backend));
    },
    T,
  );

  it(
    'a second instance on other ports resumes the same snapshot (no capture), with its own ports and fresh secrets',
    async () => {
      const r = await named('t2', 'start', '--image', 'reference', '--json', '--ports', 'auto');
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as StartJson & { ports: Ports };
      ports.t2 = out.ports;
      expect(ports.t2.backend).not.toBe(ports.t1!.backend);
      expect(out).toMatchObject({ mode: 'resumed', secrets: 'fresh' });
      expect(r.stderr).not.toContain('capturing');
      expect(snapshotDirs(emu.home)).toHaveLength(1);
      expect(await guestRuntime(ports.t2.backend)).toMatchObject({
        STACK_EMULATOR_DASHBOARD_HOST_PORT: String(ports.t2.dashboard),
        STACK_EMULATOR_BACKEND_HOST_PORT: String(ports.t2.backend),
        STACK_EMULATOR_MOCK_OAUTH_HOST_PORT: String(ports.t2.mockOauth),
      });
      // Each its own secrets: a key works on its own instance only.
      const [k1, k2] = [await clientKey('t1'), await clientKey('t2')];
      expect(k1).not.toBe(k2);
      expect(await current(ports.t1!.backend, k1)).toBe(200);
      expect(await current(ports.t2.backend, k2)).toBe(200);
      expect(await current(ports.t2.backend, k1)).toBe(401);
    },
    T,
  );

  it(
    'a saved session resumes on new host ports (its key has none) and is told them, keeping its key',
    async () => {
      const k1 = await clientKey('t1');
      const stop = await named('t1', 'stop', '--json');
      expect(stop.code, stop.stderr).toBe(0);
      expect(JSON.parse(stop.stdout)).toMatchObject({ how: 'saved' });
      // Fixed ports given for it now: others than the ones it kept.
      const moved: Ports = {
        dashboard: ports.t1!.dashboard + 10,
        backend: ports.t1!.backend + 10,
        minio: ports.t1!.minio + 10,
        inbucket: ports.t1!.inbucket + 10,
        mockOauth: ports.t1!.mockOauth + 10,
      };
      const r = await cli(['start', '--image', 'reference', '--json', '--instance', 't1'], {
        ...env,
        ...portEnv(moved),
      });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ mode: 'session', secrets: 'kept' });
      expect((await guestRuntime(moved.backend)).STACK_EMULATOR_BACKEND_HOST_PORT).toBe(String(moved.backend));
      expect(await current(moved.backend, k1)).toBe(200);
      expect(snapshotDirs(emu.home)).toHaveLength(1);
    },
    T,
  );
});

describe.skipIf(!ok)('an image without the marker captures per port set and says why (stack-compat)', () => {
  const work = mkdtempSync(join(tmpdir(), 'emu-compat-ports-'));
  const baseEnv = join(work, 'base.env');
  writeFileSync(
    baseEnv,
    'STACK_SERVER_SECRET=compat-test-secret\nNEXT_PUBLIC_STACK_PROJECT_ID=internal\nSTACK_DATABASE_CONNECTION_STRING=postgres://stack@localhost/stack\n',
  );
  let image = '';
  const emu = testInstance({ env: { EMULATOR_BASE_ENV: baseEnv }, image: () => image });
  const { env } = emu;

  beforeAll(async () => {
    const built = await ensureApplianceImage({
      applianceDir: resolve(import.meta.dirname, '../../../images/stack-compat'),
      arch: 'amd64',
      name: 'stack-compat',
    });
    image = join(work, 'stack-emulator-amd64.qcow2');
    linkSync(built.image, image);
  }, 2 * T);
  afterAll(async () => {
    await cli(['stop', '--all', '--timeout', '5'], env);
    for (const pid of processesMentioning(emu.home)) process.kill(pid, 'SIGKILL');
    await emu.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it(
    'the default instance captures for its ports; one on other ports captures its own, saying why',
    async () => {
      const first = await emu.started();
      expect(first.out.mode).toBe('resumed');
      expect(snapshotDirs(emu.home)).toHaveLength(1);
      expect(Object.values(verdicts(emu.home))).toEqual([false]);

      const r = await cli(['start', '--image', image, '--json', '--instance', 'c2', '--ports', 'auto'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ mode: 'resumed', secrets: 'fresh' });
      expect(r.stderr).toContain(
        'this image cannot take other host ports when it resumes (no /etc/stack-emulator/retargets-ports)',
      );
      expect(r.stderr).toContain('capturing one');
      expect(snapshotDirs(emu.home)).toHaveLength(2);
    },
    T,
  );
});
