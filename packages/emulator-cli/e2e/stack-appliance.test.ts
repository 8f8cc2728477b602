import { execFileSync } from 'node:child_process';
import { cpSync, linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureApplianceImage, STACK_BASE_ENV_KEYS } from '@stack/emulator-image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { sampleStackCheckout } from '../../../tools/testing/stack-checkout.js';
import { buildStandInStackImage } from '../../../tools/testing/stand-in-stack-image.js';
import { cli, get, PLACEHOLDER_KEY, testInstance } from './cli-harness.js';

// images/stack, the Stack Auth appliance, provisioned and booted with a stand-in bundle: the
// bundle made by tools/stack-bundle from a sample checkout and a small container image built offline
// (tools/testing/stand-in-stack-image.ts) whose entrypoint refuses to start when a variable the
// original renders is missing. Docker, the guest scripts, migrations through the dependencies-only
// container, the markers, then the CLI: capture, rotation through docker exec, sessions, cold boot.
const ok = hasTools(
  'qemu-system-x86_64',
  'qemu-img',
  'zstd',
  'debootstrap',
  'mkfs.vfat',
  'mcopy',
  'sfdisk',
  'apt-get',
  'dpkg-deb',
  'tar',
);
const T = 900_000;
const repo = resolve(import.meta.dirname, '../../..');
const work = mkdtempSync(join(tmpdir(), 'emu-stack-'));
const emu = testInstance({ image: () => image });
const { env, current, key, status } = emu;
let image = '';
let consoleLog = '';

/** Every variable the container must get: the base environment and what render-stack-env adds. */
const RENDERED = [
  'NEXT_PUBLIC_STACK_PORT_PREFIX',
  'NEXT_PUBLIC_HEXCLAVE_PORT_PREFIX',
  'BACKEND_PORT',
  'DASHBOARD_PORT',
  'NEXT_PUBLIC_STACK_API_URL',
  'NEXT_PUBLIC_BROWSER_STACK_API_URL',
  'NEXT_PUBLIC_SERVER_STACK_API_URL',
  'NEXT_PUBLIC_STACK_DASHBOARD_URL',
  'NEXT_PUBLIC_BROWSER_STACK_DASHBOARD_URL',
  'NEXT_PUBLIC_SERVER_STACK_DASHBOARD_URL',
  'STACK_S3_PUBLIC_ENDPOINT',
  'STACK_EMAIL_MONITOR_VERIFICATION_CALLBACK_URL',
  'STACK_OAUTH_MOCK_URL',
  'STACK_OAUTH_MOCK_PORT',
  'STACK_SKIP_MIGRATIONS',
  'STACK_SKIP_SEED_SCRIPT',
  'STACK_RUNTIME_WORK_DIR',
  'STACK_LOCAL_EMULATOR_HOST_MOUNT_ROOT',
  'STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY',
  'STACK_INTERNAL_PROJECT_SECRET_SERVER_KEY',
  'STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY',
  'CRON_SECRET',
  'STACK_EMULATOR_PORT_PREFIX',
  'STACK_EMULATOR_BACKEND_HOST_PORT',
  'STACK_EMULATOR_VM_DIR_HOST',
];

const { started } = emu;
/** The container's environment, read through `stack-emulator exec` and docker in the guest. */
const containerEnv = async () => {
  const r = await cli(['exec', '--', 'docker', 'exec', 'stack', 'env'], env);
  expect(r.code, r.stderr).toBe(0);
  return new Map(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
  );
};

beforeAll(async () => {
  if (!ok) return;
  // The appliance as a user builds it: its files, then tools/stack-bundle's img.tgz and base.env.
  const appliance = join(work, 'stack');
  cpSync(join(repo, 'images', 'stack'), appliance, {
    recursive: true,
    filter: (src) => !/bundle\/(img\.tgz|base\.env)$/.test(src),
  });
  writeFileSync(join(appliance, 'extends'), `${join(repo, 'images', 'contract')}\n`);
  const saved = join(work, 'stand-in.tar');
  buildStandInStackImage(saved, [...new Set([...STACK_BASE_ENV_KEYS, ...RENDERED])]);
  execFileSync(
    join(repo, 'tools', 'stack-bundle'),
    [sampleStackCheckout(work), '--saved-image', saved, '-o', join(appliance, 'bundle')],
    { stdio: 'pipe' },
  );
  const built = await ensureApplianceImage({ applianceDir: appliance, arch: 'amd64', name: 'stack-stand-in' });
  consoleLog = readFileSync(`${built.image}.log`, 'utf8');
  image = join(work, 'stack-emulator-amd64.qcow2');
  linkSync(built.image, image);
}, 2 * T);
afterAll(async () => {
  await emu.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!ok)('the Stack appliance (images/stack) with a stand-in container', () => {
  it('provisioning printed the contract markers: services ready, then done', () => {
    const lines = consoleLog.split(/\r?\n/).map((l) => l.trim());
    const ready = lines.indexOf('STACK_SERVICES_READY');
    expect(ready, consoleLog.slice(-3000)).toBeGreaterThan(-1);
    expect(lines.indexOf('STACK_CLOUD_INIT_DONE')).toBeGreaterThan(ready);
    expect(lines.some((l) => l.startsWith('STACK_CLOUD_INIT_FAILED'))).toBe(false);
    expect(consoleLog).toContain('stack-provision: running migrations and seed');
  });

  it(
    'start captures and resumes with rotation: the four probes healthy, the new key accepted, the placeholder refused',
    async () => {
      const { out, stderr } = await started();
      expect(stderr).toContain('capturing one');
      expect(out).toMatchObject({ mode: 'resumed', secrets: 'fresh' });
      const s = await status();
      expect(s.report.healthy).toBe(true);
      expect(await get(emu.ports.dashboard, '/handler/sign-in')).toBe(200);
      expect(await get(emu.ports.backend, '/health?db=1')).toBe(200);
      expect(await get(emu.ports.minio, '/minio/health/live')).toBe(200);
      expect(await get(emu.ports.inbucket, '/')).toBe(200);
      expect(await current(key())).toBe(200);
      expect(await current(PLACEHOLDER_KEY)).toBe(401);
    },
    T,
  );

  it(
    "the container got every variable, the URLs on this instance's host ports",
    async () => {
      const e = await containerEnv();
      for (const k of [...STACK_BASE_ENV_KEYS, ...RENDERED]) expect(e.has(k), k).toBe(true);
      expect(e.get('NEXT_PUBLIC_STACK_API_URL')).toBe(`http://localhost:${emu.ports.backend}`);
      expect(e.get('NEXT_PUBLIC_STACK_DASHBOARD_URL')).toBe(`http://localhost:${emu.ports.dashboard}`);
      expect(e.get('NEXT_PUBLIC_SERVER_STACK_API_URL')).toBe('http://127.0.0.1:8102');
      expect(e.get('STACK_S3_PUBLIC_ENDPOINT')).toBe(`http://localhost:${emu.ports.minio}/stack-storage`);
      expect(e.get('STACK_OAUTH_MOCK_URL')).toBe(`http://localhost:${emu.ports.mockOauth}`);
      expect(e.get('STACK_SERVER_SECRET')).toBe('v-STACK_SERVER_SECRET');
    },
    T,
  );

  it(
    'stop saves the session; start resumes it with the same key',
    async () => {
      const k = key();
      expect(JSON.parse((await emu.stop('--json')).stdout)).toMatchObject({ how: 'saved' });
      const { out } = await started();
      expect(out).toMatchObject({ mode: 'session', secrets: 'kept' });
      expect(key()).toBe(k);
      expect(await current(k)).toBe(200);
    },
    T,
  );

  it(
    'after kill -9, a cold boot restarts Docker and the container from the rendered environment; the key is kept',
    async () => {
      const k = key();
      await emu.killQemu();
      const { out } = await started();
      expect(out).toMatchObject({ mode: 'cold', secrets: 'kept' });
      expect(key()).toBe(k);
      expect(await current(k)).toBe(200);
      expect(await current(PLACEHOLDER_KEY)).toBe(401);
    },
    T,
  );
});
