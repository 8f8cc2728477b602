import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { getTime } from '@stack/qga-protocol';
import { cli, PLACEHOLDER_KEY, processesMentioning, testInstance, traceEvents } from './cli-harness.js';

// Sessions (issue 18) through the built CLI on the reference appliance: data written through the
// backend (into its PostgreSQL) survives stop/start, a kill -9 and an incompatible session; reset
// and --ephemeral keep nothing. Tests run in order on one home.
const ok = hasTools('qemu-system-x86_64', 'qemu-img', 'zstd', 'debootstrap', 'mkfs.vfat', 'mcopy', 'sfdisk');
const emu = testInstance();
const { env, started, stop, status, putData, getData, current } = emu;
const T = 900_000;
const project = mkdtempSync(join(tmpdir(), 'emu-persist-project-'));
const configFile = join(project, 'stack.config.ts');
writeFileSync(join(project, 'package.json'), '{}\n');
writeFileSync(configFile, 'export const config = {};\n');

afterAll(async () => {
  await emu.cleanup();
  rmSync(project, { recursive: true, force: true });
});

/** sha256 of a file's first and last MiB: the check a session's RAM state passes before a resume (snapshot-cache edgeDigest). */
function edgeSha256(path: string): string {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  const h = createHash('sha256');
  for (const at of size > 1 << 20 ? [0, size - Math.min(1 << 20, size)] : [0]) {
    const b = Buffer.alloc(Math.min(1 << 20, size));
    readSync(fd, b, 0, b.length, at);
    h.update(b);
  }
  closeSync(fd);
  return h.digest('hex');
}

const stopped = async (...args: string[]) => {
  const r = await stop('--json', ...args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { how: string; saveFailed?: string };
};

describe.skipIf(!ok)('sessions: data kept across stop/start (reference appliance)', () => {
  let key = '';
  it(
    'the first start resumes the golden snapshot with fresh secrets, into a new session; data can be written',
    async () => {
      const { out } = await started();
      expect(out).toMatchObject({ mode: 'resumed', secrets: 'fresh', persistence: { kind: 'session' } });
      key = emu.key();
      expect(await current(PLACEHOLDER_KEY)).toBe(401);
      expect((await putData('alpha', 'first value', key)).status).toBe(200);
      expect(await getData('alpha', key)).toEqual({ status: 200, body: 'first value' });
      expect((await getData('alpha', PLACEHOLDER_KEY)).status).toBe(401);
    },
    T,
  );

  it(
    'stop saves the session (RAM and disk); status shows it',
    async () => {
      expect(await stopped()).toMatchObject({ how: 'saved' });
      expect(processesMentioning(emu.home)).toEqual([]);
      const s = await status();
      expect(s.code).toBe(3);
      expect(s.report.session).toMatchObject({
        origin: 'golden',
        lastStop: { saved: true },
        ram: { format: 'template-ram' },
      });
      expect(s.report.session!.sizes.ram).toBeGreaterThan(0);
      expect(s.report.session!.sizes.disk).toBeGreaterThan(0);
    },
    T,
  );

  it(
    "start resumes the saved session (no cold boot): data there, the same key accepted, the placeholder rejected; its clock is the host's, set by the clock daemon",
    async () => {
      // Stopped for more than 5 s: a guest clock left as the snapshot had it would be that far behind.
      await new Promise((r) => setTimeout(r, 6000));
      const { out, stderr } = await started();
      const guestMs = Number(await emu.withAgent((qga) => getTime(qga))) / 1e6;
      expect(Math.abs(guestMs - Date.now())).toBeLessThan(1000);
      // No process was started in the guest for it (guest contract: stack-guest-clock).
      expect(traceEvents(emu.home).filter((e) => e.kind === 'clock')).toEqual([
        expect.objectContaining({ via: 'daemon' }),
      ]);
      expect(out.mode, stderr).toBe('session');
      expect(out.secrets).toBe('kept');
      expect(stderr).not.toContain('capturing');
      expect(emu.key()).toBe(key);
      expect(await getData('alpha', key)).toEqual({ status: 200, body: 'first value' });
      expect(await current(key)).toBe(200);
      expect(await current(PLACEHOLDER_KEY)).toBe(401);
      // Its RAM state was consumed by the resume: nothing could load it a second time.
      expect((await status()).report.session?.ram).toBeUndefined();
    },
    T,
  );

  it(
    'a share plugged after the resume is unmounted for the save and comes back with the session',
    async () => {
      await stopped();
      const first = await cli(['start', '--image', 'reference', '--config-file', configFile], env);
      expect(first.code, first.stderr).toBe(0);
      const creds = JSON.parse(first.stdout) as { project_id: string; publishable_client_key: string };
      expect(await current(creds.publishable_client_key, creds.project_id)).toBe(200);
      expect(await stopped()).toMatchObject({ how: 'saved' });
      const again = await cli(['start', '--image', 'reference', '--config-file', configFile, '--json'], env);
      expect(again.code, again.stderr).toBe(0);
      // The same project: it lives in the session's database.
      expect(JSON.parse(again.stdout)).toMatchObject({
        project_id: creds.project_id,
        publishable_client_key: creds.publishable_client_key,
      });
      expect(again.stderr).toContain('resumed the saved session');
    },
    T,
  );

  it(
    'run --config-file for a second project on the running emulator shares it too (save, resume with the share); both projects work and it stays running',
    async () => {
      const other = mkdtempSync(join(tmpdir(), 'emu-persist-other-'));
      try {
        writeFileSync(join(other, 'package.json'), '{}\n');
        const otherConfig = join(other, 'stack.config.ts');
        writeFileSync(otherConfig, 'export const config = {};\n');
        const pid = (await status()).report.instance!.pid;
        const out = join(other, 'out.txt');
        const r = await cli(
          [
            'run',
            '--image',
            'reference',
            '--config-file',
            otherConfig,
            '--',
            'sh',
            '-c',
            `echo "$STACK_PROJECT_ID $STACK_PUBLISHABLE_CLIENT_KEY" > ${out}`,
          ],
          env,
        );
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toContain(`sharing ${other} with the running emulator`);
        const [projectId, clientKey] = readFileSync(out, 'utf8').trim().split(' ');
        expect(await current(clientKey!, projectId)).toBe(200);
        const s = await status();
        expect(s.report.vm).toBe('running');
        expect(s.report.instance!.pid).not.toBe(pid);
        // The first project's share came back with the session: its credentials are still served.
        const first = await cli(['start', '--image', 'reference', '--config-file', configFile], env);
        expect(first.code, first.stderr).toBe(0);
        expect(first.stderr).toContain('already running');
        expect(await getData('alpha', key)).toEqual({ status: 200, body: 'first value' });
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    },
    T,
  );

  it(
    'start --verbose traces a failing resume (QEMU refusing a damaged RAM state) and prints no secret; it cold-boots the disk instead',
    async () => {
      expect(await stopped()).toMatchObject({ how: 'saved' });
      // Damage the stream's header and record the damage as the saved digest: only QEMU can tell now.
      const ram = join(emu.home, 'session', 'state.raw');
      const fd = openSync(ram, 'r+');
      writeSync(fd, Buffer.from('not a migration stream'), 0, 22, 0);
      closeSync(fd);
      const metaFile = join(emu.home, 'session', 'meta.json');
      const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { ram: { edgeSha256: string } };
      meta.ram.edgeSha256 = edgeSha256(ram);
      writeFileSync(metaFile, JSON.stringify(meta));
      const r = await cli(['start', '--image', 'reference', '--json', '--verbose'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        mode: 'cold',
        coldReason: expect.stringContaining('the session resume failed'),
      });
      // --json --verbose: stderr is one JSON object per line, nothing else.
      const lines = r.stderr.trim().split('\n');
      const events = lines.map(
        (l) =>
          (
            JSON.parse(l) as {
              trace: { kind: string; direction?: string; message?: Record<string, unknown>; text?: string };
            }
          ).trace,
      );
      const sent = (kind: string, name: string) =>
        events.some((e) => e.kind === kind && e.direction === 'send' && e.message?.execute === name);
      expect(sent('qmp', 'migrate-incoming')).toBe(true);
      // QEMU 9.1+ stays up on a stream it cannot load and says why (exit-on-error false).
      const failed = events.find(
        (e) =>
          e.kind === 'qmp' &&
          e.direction === 'recv' &&
          (e.message?.value as { status?: string } | undefined)?.status === 'failed',
      );
      expect(failed?.message).toMatchObject({ value: { 'error-desc': expect.any(String) } });
      expect(events.find((e) => e.kind === 'warn')?.text).toMatch(
        /the session resume failed: migrate-incoming from file:.*\(MigrationFailed\)/,
      );
      expect(sent('qga', 'guest-sync-delimited')).toBe(true);
      expect(events.some((e) => e.kind === 'qemu')).toBe(true);
      // The published key and every 64-hex value stay out of the trace.
      expect(r.stderr).not.toContain(key);
      expect(r.stderr).not.toMatch(/\b[0-9a-f]{64}\b/);
      // The same trace is kept for `logs --source trace`.
      const logs = await cli(['logs', '--source', 'trace', '-n', '100000'], env);
      expect(logs.code).toBe(0);
      expect(logs.stdout).toMatch(/qmp → \{"execute":"migrate-incoming"/);
      expect(logs.stdout).toMatch(
        /qmp ← \{"type":"return",.*"value":\{"status":"failed","error-desc":"load of migration failed/,
      );
      expect(logs.stdout).toMatch(/\[trace +\d+\.\d{3}s\] qemu /);
      expect(logs.stdout).not.toContain(key);
      expect(await getData('alpha', key)).toEqual({ status: 200, body: 'first value' });
    },
    T,
  );

  it(
    'after kill -9 of QEMU, start cold-boots the session disk: data there, reason given, secrets kept',
    async () => {
      await emu.killQemu();
      const { out } = await started();
      expect(out.mode).toBe('cold');
      expect(out.coldReason).toMatch(/did not stop cleanly/);
      expect(out.secrets).toBe('kept');
      expect(emu.key()).toBe(key);
      expect(await getData('alpha', key)).toEqual({ status: 200, body: 'first value' });
      expect(await current(PLACEHOLDER_KEY)).toBe(401);
    },
    T,
  );

  it(
    'a session that no longer fits (another vCPU count) cold-boots its disk with the data and the reason',
    async () => {
      expect((await putData('beta', 'second value', key)).status).toBe(200);
      expect(await stopped()).toMatchObject({ how: 'saved' });
      const r = await cli(['start', '--image', 'reference', '--json'], { ...env, EMULATOR_CPUS: '1' });
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { mode: string; coldReason: string };
      expect(out.mode).toBe('cold');
      expect(out.coldReason).toMatch(/does not fit this start \(layoutFingerprint changed/);
      expect(await getData('beta', key)).toEqual({ status: 200, body: 'second value' });
      expect(await stopped()).toMatchObject({ how: 'saved' });
    },
    T,
  );

  it(
    'reset discards the session: the next start is golden with fresh secrets and no data',
    async () => {
      const r = await cli(['reset', '--json'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ sessionDiscarded: true });
      expect(existsSync(join(emu.home, 'session'))).toBe(false);
      const { out } = await started();
      expect(out).toMatchObject({ mode: 'resumed', secrets: 'fresh' });
      const fresh = emu.key();
      expect(fresh).not.toBe(key);
      expect(await current(key)).toBe(401);
      expect((await getData('alpha', fresh)).status).toBe(404);
      key = fresh;
      expect((await putData('gamma', 'kept value', key)).status).toBe(200);
      expect(await stopped()).toMatchObject({ how: 'saved' });
    },
    T,
  );

  it(
    '--ephemeral leaves the session alone and saves nothing',
    async () => {
      const saved = readFileSync(join(emu.home, 'session', 'meta.json'), 'utf8');
      const { out } = await started('--ephemeral');
      expect(out).toMatchObject({ mode: 'resumed', secrets: 'fresh', persistence: { kind: 'ephemeral' } });
      const k = emu.key();
      expect((await getData('gamma', k)).status).toBe(404);
      expect((await putData('delta', 'lost value', k)).status).toBe(200);
      expect((await stopped()).how).toBe('acpi-poweroff');
      expect(readFileSync(join(emu.home, 'session', 'meta.json'), 'utf8')).toBe(saved);
      // EMULATOR_EPHEMERAL=1 is the same.
      const e = await cli(['start', '--image', 'reference', '--json'], { ...env, EMULATOR_EPHEMERAL: '1' });
      expect(e.code, e.stderr).toBe(0);
      expect((await getData('delta', emu.key())).status).toBe(404);
      await stopped();
      // The session is still there, with its data.
      const { out: back } = await started();
      expect(back.mode).toBe('session');
      expect(await getData('gamma', key)).toEqual({ status: 200, body: 'kept value' });
      expect((await getData('delta', key)).status).toBe(404);
      await stopped();
    },
    T,
  );
});
