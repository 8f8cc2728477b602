import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { cli, http, processesMentioning, testInstance } from './cli-harness.js';

// Wider shares (issue 32) through the built CLI on the reference appliance: `--share` and
// `--share-readonly` on a running emulator take free slots (its session saved and resumed, the guest
// not rebooted), a second project's config in a --share is usable, a read-only share refuses writes
// in the guest, a full VM is refused and left running, and the home (also through a symlink, or on
// macOS in another case) is refused unless confirmed with --yes. Tests run in order on one home.
const ok = hasTools('qemu-system-x86_64', 'qemu-img', 'zstd', 'debootstrap', 'mkfs.vfat', 'mcopy', 'sfdisk');
const root = realpathSync(mkdtempSync(join(tmpdir(), 'emu-shares-')));
// A home of the test's own: `--share $HOME --yes` shares it, not the real one.
const fakeHome = join(root, 'home');
// The image cache stays the real one (it follows HOME otherwise): the suite would build the reference
// appliance again, 5 minutes of CI, for nothing it tests.
const emu = testInstance({
  env: { HOME: fakeHome, XDG_CACHE_HOME: process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache') },
});
const { env, status, current } = emu;
const T = 900_000;

/** A project directory with an empty config file; its real path. */
function project(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{}\n');
  writeFileSync(join(dir, 'stack.config.ts'), 'export const config = {};\n');
  return dir;
}

const first = project('first');
const second = project('second');
const fixtures = project('fixtures');
mkdirSync(fakeHome, { recursive: true });

afterAll(async () => {
  await cli(['stop', '--timeout', '5'], env);
  for (const pid of processesMentioning(emu.home)) process.kill(pid, 'SIGKILL');
  await emu.cleanup();
  rmSync(root, { recursive: true, force: true });
});

/** `exec` in the guest: its exit code and output. */
const guest = (script: string) => cli(['exec', '--', 'sh', '-c', script], env);

/** A refused `start --json`: exit code and the error's code and message. */
async function refused(...args: string[]) {
  const r = await cli(['start', '--image', 'reference', '--json', ...args], env);
  const out = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; message: string; hint?: string } };
  return { code: r.code, ok: out.ok, error: out.error, stderr: r.stderr };
}

describe.skipIf(!ok)('wider shares: --share on a running emulator (reference appliance)', () => {
  let pid = 0;

  it(
    'a start with --config-file shares only its project',
    async () => {
      const r = await cli(['start', '--image', 'reference', '--config-file', join(first, 'stack.config.ts')], env);
      expect(r.code, r.stderr).toBe(0);
      const s = await status();
      expect(s.report.vm).toBe('running');
      pid = s.report.instance!.pid;
      expect((await guest(`test -f /host${second}/stack.config.ts`)).code).not.toBe(0);
    },
    T,
  );

  it(
    'a config file registered through the backend outside every share gets an error naming the --share to add',
    async () => {
      // As the dashboard or Stack's e2e tests do: the backend's local-emulator endpoint, with a host path.
      const outside = join(second, 'stack.config.ts');
      const r = await http(
        emu.ports.backend,
        'POST',
        '/api/v1/internal/local-emulator/project',
        {
          'x-stack-project-id': 'internal',
          'x-stack-publishable-client-key': emu.key(),
          'content-type': 'application/json',
        },
        JSON.stringify({ absolute_file_path: outside }),
      );
      expect(r.status).toBe(400);
      const body = JSON.parse(r.body) as { error: string; share: string };
      expect(body.error).toContain(`stack-emulator start --share ${second}`);
      expect(body.share).toBe(second);
    },
    T,
  );

  it(
    '--share and --share-readonly on the running emulator: shared without a reboot, the read-only one mounted ro',
    async () => {
      // A file in the guest's tmpfs: a reboot would lose it, a save and resume keeps it.
      expect((await guest('echo alive > /run/shares-e2e-marker')).code).toBe(0);
      const r = await cli(['start', '--image', 'reference', '--share', second, '--share-readonly', fixtures], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('with the running emulator');
      expect(r.stderr).toContain(second);
      const s = await status();
      expect(s.report.vm).toBe('running');
      expect(s.report.instance!.pid).not.toBe(pid); // QEMU relaunched on the saved session...
      pid = s.report.instance!.pid;
      // ...but the guest was not rebooted.
      expect((await guest('cat /run/shares-e2e-marker')).stdout).toBe('alive\n');
      // The first project's share came back with the session.
      expect((await guest(`test -f /host${first}/stack.config.ts`)).code).toBe(0);
      // Read-write: a file written in the guest is on the host.
      expect((await guest(`echo from-guest > /host${second}/written.txt`)).code).toBe(0);
      expect(readFileSync(join(second, 'written.txt'), 'utf8')).toBe('from-guest\n');
      // Read-only: mounted ro, and a write fails.
      const mounts = await guest(`grep " /host${fixtures} " /proc/mounts`);
      expect(mounts.stdout).toMatch(/\s9p\s+ro[,\s]/);
      expect((await guest(`echo x > /host${fixtures}/nope.txt`)).code).not.toBe(0);
      expect(existsSync(join(fixtures, 'nope.txt'))).toBe(false);
    },
    T,
  );

  it(
    "a second project's config in a --share is usable on the running emulator, with no further reshare",
    async () => {
      const r = await cli(['start', '--image', 'reference', '--config-file', join(second, 'stack.config.ts')], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('already running');
      const creds = JSON.parse(r.stdout) as { project_id: string; publishable_client_key: string };
      expect(await current(creds.publishable_client_key, creds.project_id)).toBe(200);
      expect((await status()).report.instance!.pid).toBe(pid);
    },
    T,
  );

  it(
    'the home is refused (also through a symlink, and on macOS in another case) unless confirmed; nothing is touched',
    async () => {
      const home = await refused('--share', fakeHome);
      expect(home).toMatchObject({ code: 2, ok: false, error: { code: 'SHARE_TOO_WIDE' } });
      expect(home.error.message).toContain('your whole home directory');
      expect(home.error.hint).toContain('--yes');
      const link = join(root, 'home-link');
      symlinkSync(fakeHome, link);
      expect(await refused('--share-readonly', link)).toMatchObject({ code: 2, error: { code: 'SHARE_TOO_WIDE' } });
      if (process.platform === 'darwin')
        expect(await refused('--share', fakeHome.toUpperCase())).toMatchObject({
          code: 2,
          error: { code: 'SHARE_TOO_WIDE' },
        });
      expect(await refused('--share', '/')).toMatchObject({ code: 2, error: { code: 'SHARE_TOO_WIDE' } });
      expect(await refused('--share', join(root, 'missing'))).toMatchObject({
        code: 2,
        error: { code: 'SHARE_INVALID' },
      });
      expect((await status()).report.instance!.pid).toBe(pid);
    },
    T,
  );

  it(
    '--share $HOME --yes shares it with a warning (the fourth and last slot)',
    async () => {
      writeFileSync(join(fakeHome, 'marker'), 'home\n');
      const r = await cli(['start', '--image', 'reference', '--share', fakeHome, '--yes'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/sharing .* \(your whole home directory\) with the guest read-write, as confirmed/);
      expect((await guest(`cat /host${fakeHome}/marker`)).stdout).toBe('home\n');
      pid = (await status()).report.instance!.pid;
    },
    T,
  );

  it(
    'with every slot taken, another --share is refused with the way out, and the running emulator is left alone',
    async () => {
      const fifth = project('fifth');
      const r = await refused('--share', fifth);
      expect(r).toMatchObject({ code: 1, ok: false, error: { code: 'HOST_SHARE_FAILED' } });
      expect(r.error.message).toContain(`no free share slot for ${fifth}`);
      expect(r.error.hint).toContain('--no-snapshot');
      const s = await status();
      expect(s.report.vm).toBe('running');
      expect(s.report.instance!.pid).toBe(pid);
    },
    T,
  );
});
