import {
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { socketDirFor } from '@stack/qemu-argv';
import { exec, QgaClient } from '@stack/qga-protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { cli, cliWithInput, isAlive, PLACEHOLDER_KEY, processesMentioning, testInstance } from './cli-harness.js';

// The whole lifecycle through the built CLI against the reference appliance, under the accelerator the
// CLI picks (TCG on this host: its KVM cannot run a stock kernel). Tests run in order on one home.
// Ephemeral (CI's mode): every start is the golden snapshot's; sessions have persistence.test.ts.
const ok = hasTools('qemu-system-x86_64', 'qemu-img', 'zstd', 'debootstrap', 'mkfs.vfat', 'mcopy', 'sfdisk');
const emu = testInstance({ env: { EMULATOR_EPHEMERAL: '1' } });
const { home, ports, env, pckFile, current, start, status, snapshotIds } = emu;
const PLACEHOLDER = PLACEHOLDER_KEY;
const guestShell = async (script: string) => {
  await using qga = await QgaClient.connect(join(socketDirFor(home), 'qga.sock'), { timeout: 10_000 });
  return (await exec(qga, { path: '/bin/sh', args: ['-c', script], timeout: 60_000 })).stdout.toString();
};
const T = 900_000;

afterAll(() => emu.cleanup());

describe.skipIf(!ok)('stack-emulator lifecycle (reference appliance)', () => {
  it('rejects bad environment values with the variable name and exit code 2', async () => {
    for (const bad of ['0', '70000', 'abc']) {
      const r = await cli(['start', '--image', 'reference'], { ...env, EMULATOR_BACKEND_PORT: bad });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`EMULATOR_BACKEND_PORT="${bad}"`);
    }
    const r = await cli(['status'], { ...env, EMULATOR_NO_SNAPSHOT: 'yes' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('EMULATOR_NO_SNAPSHOT');
  });

  it('status --json says stopped (exit 3) before anything ran; exec and logs say so too', async () => {
    const s = await status();
    expect(s.code).toBe(3);
    expect(s.report.vm).toBe('stopped');
    const e = await cli(['exec', '--', 'true'], env);
    expect(e.code).toBe(3);
    expect(e.stderr).toContain('the emulator is not running');
    expect((await cli(['logs'], env)).code).toBe(3);
  });

  it('refuses a busy port, naming the process that holds it', async () => {
    const server = createServer().listen(ports.minio, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const r = await cli(['start', '--image', 'reference'], env);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`port ${ports.minio} (minio) is in use by pid ${process.pid}`);
      expect(processesMentioning(home)).toEqual([]);
    } finally {
      server.close();
    }
  });

  let firstKey = '';
  it(
    'first start captures a snapshot, then resumes it with fresh secrets',
    async () => {
      const r = await start();
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(r.stderr).toContain('capturing one');
      expect(out.mode, r.stderr).toBe('resumed');
      expect(out.rotated).toBe(true);
      // Accelerator choice: with a KVM that cannot run the guest, TCG with the reason.
      // (The busy-port test above already ran the check, so this start reads the remembered verdict.)
      if (existsSync('/dev/kvm') && out.accel === 'tcg')
        expect(out.accelReason).toMatch(/^kvm cannot run the guest on this host\b.*\S/);
      expect(['kvm', 'hvf', 'tcg']).toContain(out.accel);
      firstKey = readFileSync(pckFile, 'utf8').trim();
      expect(firstKey).toMatch(/^[0-9a-f]{64}$/);
      expect(await current(firstKey)).toBe(200);
      expect(await current(PLACEHOLDER)).toBe(401);
      expect(snapshotIds()).toHaveLength(1);
    },
    T,
  );

  it('status --json: running and healthy (exit 0)', async () => {
    const s = await status();
    expect(s.code).toBe(0);
    expect(s.report).toMatchObject({ vm: 'running', healthy: true });
    // The reference appliance has boot files beside it: its kernel is booted directly, not via OVMF.
    expect(s.report.instance?.boot).toBe('direct-kernel');
  });

  it('a second start while running reports it, exits 0 and leaves it alone', async () => {
    const before = (await status()).report.instance!.pid;
    const r = await start();
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ alreadyRunning: true, pid: before });
    expect(readFileSync(pckFile, 'utf8').trim()).toBe(firstKey);
  });

  it(
    'stop powers the guest off and leaves no process or socket',
    async () => {
      const pid = (await status()).report.instance!.pid;
      const r = await cli(['stop', '--json'], env);
      expect(r.code, r.stderr).toBe(0);
      // A clean power-down through the guest's ACPI power button (its driver comes from the initramfs).
      expect(JSON.parse(r.stdout)).toMatchObject({ wasRunning: true, how: 'acpi-poweroff' });
      expect(processesMentioning(home)).toEqual([]);
      expect(isAlive(pid)).toBe(false);
      for (const f of ['monitor.sock', 'qga.sock']) expect(existsSync(join(socketDirFor(home), f))).toBe(false);
      // The published key stays, as the original keeps it (a later cold boot on this disk knows its secrets).
      expect(readFileSync(pckFile, 'utf8')).toBe(firstKey);
      expect((await status()).report.vm).toBe('stopped');
    },
    T,
  );

  let secondKey = '';
  it(
    'second start resumes (no capture) with a different key; the old key and the placeholder are rejected',
    async () => {
      const r = await start();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('capturing');
      expect(JSON.parse(r.stdout).mode, r.stderr).toBe('resumed');
      // No guest socket of a service port in TIME_WAIT came back with the snapshot: one would reset a
      // new connection from the same host port (see src/lifecycle/loopback-http.ts).
      expect(
        await guestShell(
          "ss -Htan state time-wait '( sport = :8101 or sport = :8102 or sport = :9090 or sport = :9001 )'",
        ),
      ).toBe('');
      secondKey = readFileSync(pckFile, 'utf8').trim();
      expect(secondKey).not.toBe(firstKey);
      expect(await current(secondKey)).toBe(200);
      expect(await current(firstKey)).toBe(401);
      expect(await current(PLACEHOLDER)).toBe(401);
    },
    T,
  );

  it(
    'exec runs a command in the guest: stdin in, stdout, stderr and its exit code out; psql reaches the database',
    async () => {
      const r = await cliWithInput(
        ['exec', '--', 'sh', '-c', 'read x; echo "got $x"; echo oops >&2; exit 5'],
        env,
        'hello\n',
      );
      expect(r).toMatchObject({ code: 5, stdout: 'got hello\n', stderr: 'oops\n' });
      const sql = await cli(
        [
          'exec',
          '--',
          'runuser',
          '-u',
          'postgres',
          '--',
          'psql',
          '-d',
          'stack',
          '-tAc',
          'select count(*) from "ApiKeySet" where "projectId" = \'internal\'',
        ],
        env,
      );
      expect(sql).toMatchObject({ code: 0, stdout: '1\n' });
      expect((await cli(['exec', '-e', 'GREETING=hi there', '--', 'sh', '-c', 'echo "$GREETING"'], env)).stdout).toBe(
        'hi there\n',
      );
      expect((await cli(['exec', '--', 'no-such-program'], env)).code).toBe(127);
    },
    T,
  );

  it(
    "logs prints the guest console, QEMU's log and the last command's trace",
    async () => {
      const console = await cli(['logs', '-n', '20'], env);
      expect(console.code).toBe(0);
      expect(console.stdout.trim().split('\n').length).toBeGreaterThan(0);
      expect(console.stdout).not.toContain('\x1b[');
      expect((await cli(['logs', '--source', 'qemu'], env)).code).toBe(0);
      const t = await cli(['logs', '--source', 'trace', '-n', '100000'], env);
      expect(t.stdout).toMatch(/\[trace +\d+\.\d{3}s\] command /);
      expect(t.stdout).toContain('qga → {"execute":"guest-exec"');
      expect(t.stdout).not.toContain(secondKey);
    },
    T,
  );

  it(
    "env prints the credentials; run without --config-file leaves the environment alone and returns the command's exit code, leaving a running emulator running",
    async () => {
      const e = await cli(['env', '--format', 'json'], env);
      expect(e.code).toBe(0);
      expect(JSON.parse(e.stdout)).toMatchObject({
        STACK_PUBLISHABLE_CLIENT_KEY: secondKey,
        NEXT_PUBLIC_STACK_PUBLISHABLE_CLIENT_KEY: secondKey,
        STACK_API_URL: `http://127.0.0.1:${ports.backend}`,
      });
      const file = join(home, 'run-out.txt');
      // As the original: an app configured by its own .env keeps it (nothing of the internal project laid over it).
      const r = await cli(
        [
          'run',
          '--image',
          'reference',
          '--',
          'sh',
          '-c',
          `echo "[$STACK_PUBLISHABLE_CLIENT_KEY] [$STACK_PROJECT_ID] $MINE" > ${file}; exit 7`,
        ],
        { ...env, MINE: 'own-value', STACK_PROJECT_ID: 'my-project' },
      );
      expect(r.code).toBe(7);
      expect(readFileSync(file, 'utf8').trim()).toBe('[] [my-project] own-value');
      expect((await status()).report.vm).toBe('running');
    },
    T,
  );

  it(
    'start --config-file prints only the project credentials as JSON on stdout, read through the host share',
    async () => {
      await cli(['stop'], env);
      const dir = mkdtempSync(join(tmpdir(), 'emu-project-'));
      const config = join(dir, 'stack.config.ts');
      writeFileSync(config, 'export const config = {};\n', { mode: 0o644 });
      try {
        const r = await cli(['start', '--image', 'reference', '--config-file', config], env);
        expect(r.code, r.stderr).toBe(0);
        const creds = JSON.parse(r.stdout) as {
          project_id: string;
          publishable_client_key: string;
          secret_server_key: string;
        };
        expect(creds.project_id).toMatch(/^[0-9a-f]{32}$/);
        expect(creds.secret_server_key).toMatch(/^[0-9a-f]{64}$/);
        expect(await current(creds.publishable_client_key, creds.project_id)).toBe(200);
        expect(await current(PLACEHOLDER, creds.project_id)).toBe(401);
      } finally {
        await cli(['stop'], env);
        rmSync(dir, { recursive: true, force: true });
      }
    },
    T,
  );

  it(
    'run starts the emulator when needed and stops it afterwards',
    async () => {
      const r = await cli(['run', '--image', 'reference', 'test -z "$STACK_PUBLISHABLE_CLIENT_KEY" && exit 3'], env);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain('stopping the emulator');
      expect((await status()).report.vm).toBe('stopped');
      expect(processesMentioning(home)).toEqual([]);
    },
    T,
  );

  it(
    '--no-rotation keeps the placeholder secrets',
    async () => {
      const r = await start('--no-rotation');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout), r.stderr).toMatchObject({ mode: 'resumed', rotated: false });
      expect(await current(PLACEHOLDER)).toBe(200);
      await cli(['stop'], env);
    },
    T,
  );

  it(
    'status --json reports a crashed VM (exit 1), and the next start recovers',
    async () => {
      const r = await start();
      expect(r.code, r.stderr).toBe(0);
      process.kill(JSON.parse(r.stdout).pid, 'SIGKILL');
      await new Promise((res) => setTimeout(res, 300));
      const s = await status();
      expect(s.code).toBe(1);
      expect(s.report.vm).toBe('crashed');
      expect(s.report.reason).toContain('exited without `stop`');
      const again = await start();
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).mode, again.stderr).toBe('resumed');
      await cli(['stop'], env);
    },
    T,
  );

  for (const signal of ['SIGINT', 'SIGHUP'] as const) {
    it(
      `${signal === 'SIGINT' ? 'Ctrl-C' : 'closing the terminal (SIGHUP)'} during start leaves no QEMU, no state and no temp file behind`,
      async () => {
        const r = await cli(['start', '--image', 'reference'], env, {
          interruptAfter: (err) => err.includes('resuming snapshot'),
          signal,
        });
        expect(r.code).toBe(130);
        expect(processesMentioning(home)).toEqual([]);
        expect(existsSync(join(home, 'run', 'state.json'))).toBe(false);
        expect(readdirSync(join(home, 'run', 'vm')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
        expect(existsSync(join(home, 'run', 'lock'))).toBe(false);
      },
      T,
    );
  }

  it(
    'a corrupted snapshot falls back to a cold boot with rotation, is quarantined, and is not retried',
    async () => {
      const [id] = snapshotIds();
      for (const f of ['state.raw', 'state.zst']) {
        const fd = openSync(join(home, 'snapshots', id!, f), 'r+');
        writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 0);
        closeSync(fd);
      }
      const r = await start();
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.mode).toBe('cold');
      expect(out.coldReason).toContain('resume failed');
      expect(r.stderr).toContain('quarantined');
      expect(snapshotIds()).toEqual([]);
      const key = readFileSync(pckFile, 'utf8').trim();
      expect(await current(key)).toBe(200);
      expect(await current(PLACEHOLDER)).toBe(401);
      await cli(['stop'], env);

      const next = await start();
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).not.toContain('resuming snapshot');
      const nextOut = JSON.parse(next.stdout);
      expect(nextOut.mode).toBe('cold');
      expect(nextOut.coldReason).toContain('quarantined');
      expect(nextOut.rotated).toBe(true);
      expect(await current(PLACEHOLDER)).toBe(401);
      await cli(['stop'], env);
    },
    2 * T,
  );
});
