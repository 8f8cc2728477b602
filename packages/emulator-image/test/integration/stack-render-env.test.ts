import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../../tools/testing/requires.js';
import { sampleStackCheckout } from '../../../../tools/testing/stack-checkout.js';
import {
  ensureBaseImage,
  generateStackBaseEnv,
  parseEnvFile,
  STACK_BASE_ENV_KEYS,
  type BaseImage,
} from '../../src/index.js';

// images/stack's render-stack-env, the guest script that writes the Stack container's environment,
// run by the guest's own bash in the cached base image's tree, from the files the config disk holds
// (runtime.env as the CLI writes it, with a non-default prefix and host ports).
const ok = hasTools('debootstrap', 'chroot', 'mkfs.vfat', 'mcopy', 'sfdisk', 'qemu-img');
const script = new URL('../../../../images/stack/bundle/bin/render-stack-env', import.meta.url).pathname;
const inside = `/tmp/stack-render-${process.pid}`;
let base: BaseImage;
const host = (p: string) => join(base.rootfs, p);

const runtime = {
  STACK_EMULATOR_PORT_PREFIX: '82',
  STACK_EMULATOR_DASHBOARD_HOST_PORT: '31700',
  STACK_EMULATOR_BACKEND_HOST_PORT: '31701',
  STACK_EMULATOR_MINIO_HOST_PORT: '31702',
  STACK_EMULATOR_INBUCKET_HOST_PORT: '31703',
  STACK_EMULATOR_MOCK_OAUTH_HOST_PORT: '31704',
  STACK_EMULATOR_VM_DIR_HOST: '/Users/dev/.stack/emulator/run/vm',
};
const envText = (values: Record<string, string>) =>
  Object.entries(values)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');

function render(files: { runtime?: string; base?: string; baked?: string }) {
  rmSync(host(inside), { recursive: true, force: true });
  mkdirSync(host(`${inside}/run`), { recursive: true });
  if (files.runtime !== undefined) writeFileSync(host(`${inside}/run/runtime.env`), files.runtime);
  writeFileSync(host(`${inside}/run/base.env`), files.base ?? '');
  if (files.baked !== undefined) writeFileSync(host(`${inside}/baked.env`), files.baked);
  copyFileSync(script, host(`${inside}/render-stack-env`));
  const r = spawnSync(
    'chroot',
    [
      base.rootfs,
      'env',
      `STACK_RUNTIME_DIR=${inside}/run`,
      `STACK_BAKED_BASE_ENV=${inside}/baked.env`,
      `STACK_CONTAINER_ENV=${inside}/out/local-emulator.env`,
      'bash',
      `${inside}/render-stack-env`,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  const out = host(`${inside}/out/local-emulator.env`);
  const text = r.status === 0 ? readFileSync(out, 'utf8') : '';
  return {
    status: r.status,
    stderr: r.stderr,
    text,
    env: parseEnvFile(text),
    mode: r.status === 0 ? statSync(out).mode & 0o777 : 0,
  };
}

beforeAll(async () => {
  if (ok) base = await ensureBaseImage({ arch: 'amd64' });
}, 1_200_000);
afterAll(() => {
  if (base) rmSync(host(inside), { recursive: true, force: true });
});

describe.skipIf(!ok)('images/stack render-stack-env (in the base image tree)', () => {
  const checkout = sampleStackCheckout();
  const baked = generateStackBaseEnv({
    backend: readFileSync(join(checkout, 'apps/backend/.env.development'), 'utf8'),
    dashboard: readFileSync(join(checkout, 'apps/dashboard/.env.development'), 'utf8'),
  });

  it('renders every variable the original renders, for prefix 82 and non-default host ports', () => {
    const r = render({ runtime: envText(runtime), baked });
    expect(r.status, r.stderr).toBe(0);
    expect(r.mode).toBe(0o600);
    const expected: Record<string, string> = {
      NEXT_PUBLIC_STACK_PORT_PREFIX: '82',
      NEXT_PUBLIC_HEXCLAVE_PORT_PREFIX: '82',
      BACKEND_PORT: '8202',
      DASHBOARD_PORT: '8201',
      NEXT_PUBLIC_STACK_API_URL: 'http://localhost:31701',
      NEXT_PUBLIC_BROWSER_STACK_API_URL: 'http://localhost:31701',
      NEXT_PUBLIC_SERVER_STACK_API_URL: 'http://127.0.0.1:8202',
      NEXT_PUBLIC_STACK_DASHBOARD_URL: 'http://localhost:31700',
      NEXT_PUBLIC_BROWSER_STACK_DASHBOARD_URL: 'http://localhost:31700',
      NEXT_PUBLIC_SERVER_STACK_DASHBOARD_URL: 'http://127.0.0.1:8201',
      STACK_S3_PUBLIC_ENDPOINT: 'http://localhost:31702/stack-storage',
      STACK_EMAIL_MONITOR_VERIFICATION_CALLBACK_URL: 'http://localhost:31700/handler/email-verification',
      STACK_OAUTH_MOCK_URL: 'http://localhost:31704',
      STACK_OAUTH_MOCK_PORT: '31704',
      STACK_SKIP_MIGRATIONS: 'true',
      STACK_SKIP_SEED_SCRIPT: 'true',
      STACK_RUNTIME_WORK_DIR: '/app',
      STACK_LOCAL_EMULATOR_HOST_MOUNT_ROOT: '/host',
      STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY: `${'0'.repeat(32)}${'f'.repeat(32)}`,
      STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY: `${'0'.repeat(32)}${'f'.repeat(32)}`,
      NEXT_PUBLIC_STACK_PUBLISHABLE_CLIENT_KEY: `${'0'.repeat(32)}${'f'.repeat(32)}`,
      STACK_INTERNAL_PROJECT_SECRET_SERVER_KEY: `${'0'.repeat(32)}${'e'.repeat(32)}`,
      STACK_SEED_INTERNAL_PROJECT_SECRET_SERVER_KEY: `${'0'.repeat(32)}${'e'.repeat(32)}`,
      STACK_SECRET_SERVER_KEY: `${'0'.repeat(32)}${'e'.repeat(32)}`,
      STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY: `${'0'.repeat(32)}${'d'.repeat(32)}`,
      // The checkout's mock_cron_secret is public: the placeholder replaces it, and rotation both.
      CRON_SECRET: `${'0'.repeat(32)}${'c'.repeat(32)}`,
      ...runtime,
    };
    expect(Object.fromEntries([...r.env].filter(([k]) => k in expected))).toEqual(expected);
    // Every base variable is there, with the checkout's value unless rendered over.
    for (const k of STACK_BASE_ENV_KEYS) expect(r.env.has(k), k).toBe(true);
    expect(r.env.get('STACK_SERVER_SECRET')).toBe('v-STACK_SERVER_SECRET');
    expect(r.env.get('STACK_DATABASE_CONNECTION_STRING')).toMatch(
      /^postgres:\/\/postgres:.*@127\.0\.0\.1:5432\/stackframe$/,
    );
    // One line per name (docker takes the last of duplicates; a reader should not have to know that).
    const names = r.text
      .trim()
      .split('\n')
      .map((l) => l.split('=')[0]);
    expect(names.length).toBe(new Set(names).size);
  });

  it("defaults to prefix 81 and the default host ports; the config disk's base.env wins over the baked one", () => {
    const r = render({ runtime: '', base: 'STACK_SERVER_SECRET=from-the-host\n', baked });
    expect(r.status, r.stderr).toBe(0);
    expect(r.env.get('BACKEND_PORT')).toBe('8102');
    expect(r.env.get('NEXT_PUBLIC_STACK_API_URL')).toBe('http://localhost:26701');
    expect(r.env.get('STACK_OAUTH_MOCK_URL')).toBe('http://localhost:26704');
    expect(r.env.get('STACK_SERVER_SECRET')).toBe('from-the-host');
    expect(r.env.has('STACK_CHANGELOG_URL')).toBe(false);
  });

  it('refuses a bad prefix or port, and no base environment at all, naming the value', () => {
    const prefix = render({ runtime: 'STACK_EMULATOR_PORT_PREFIX=8\n', baked });
    expect(prefix.status).toBe(2);
    expect(prefix.stderr).toContain('STACK_EMULATOR_PORT_PREFIX=8 is not two digits');
    const portBad = render({ runtime: 'STACK_EMULATOR_BACKEND_HOST_PORT=70000\n', baked });
    expect(portBad.status).toBe(2);
    expect(portBad.stderr).toContain('STACK_EMULATOR_BACKEND_HOST_PORT=70000 is not a port');
    const none = render({ runtime: envText(runtime) });
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('no base environment');
  });
});
